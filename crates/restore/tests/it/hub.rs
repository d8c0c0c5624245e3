//! A Hub site comes back on the web in an ArcGIS Online target, as Hub makes a site: registered as
//! an application, its hostname (its subdomain under the target's key) entered in Hub's domain
//! service for the new site, its data, URL and typeKeyword naming that address; the hostname
//! another site holds is stepped; a second run enters nothing twice.

use orgpack_portal::{Client, ClientOptions, Content, Credentials, PortalUrl};
use orgpack_restore::Target;
use serde_json::{Value, json};

use super::seed::{PW, client, seeded};
use super::{backed_up, entry, restored_into};

/// The site, made as Hub makes one: the item, its registration, its domain entry.
async fn hub_site(editor: &Client, hub: &str, subdomain: &str) -> (String, String) {
    let me = editor.portal_self().await.unwrap();
    let key = me["urlKey"].as_str().unwrap().to_owned();
    let host = format!("{subdomain}-{key}.hub.arcgis.com");
    let site = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Water portal"),
                ("type", "Hub Site Application"),
                ("typeKeywords", &format!("hubSite,hubsubdomain|{subdomain}")),
                ("url", &format!("https://{host}")),
            ],
            Content::Text(
                &json!({"values": {"subdomain": subdomain, "defaultHostname": host,
                    "layout": {"sections": []}}})
                .to_string(),
            ),
            1 << 20,
        )
        .await
        .unwrap();
    let client_id = editor
        .register_app(&site, &[format!("https://{host}")])
        .await
        .unwrap();
    editor
        .add_hub_domain(
            hub,
            &json!({"hostname": host, "siteId": site, "siteTitle": "Water portal",
                "orgId": me["id"], "orgKey": key, "orgTitle": me["name"],
                "clientKey": client_id, "sslOnly": true}),
        )
        .await
        .unwrap();
    let mut data: Value = {
        let mut b = Vec::new();
        editor.item_data(&site, &mut b).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    };
    data["values"]["clientId"] = json!(client_id);
    editor
        .update_item("editor", None, &site, &[], Content::Text(&data.to_string()))
        .await
        .unwrap();
    (site, host)
}

async fn data_of(c: &Client, id: &str) -> Value {
    let mut b = Vec::new();
    c.item_data(id, &mut b).await.unwrap();
    serde_json::from_slice(&b).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_site_is_registered_and_given_its_hostname_in_the_target() {
    let s = seeded().await;
    let hub = s.sandbox.hub_url();
    let editor = client(&s.sandbox, "editor");
    let (site, source_host) = hub_site(&editor, &hub, "water").await;
    // The target organization already has a site at `water-county…`: the restored one steps.
    s.sandbox.add_org("county", "County").unwrap();
    s.sandbox
        .add_user("county", "admin", PW, "org_admin")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = Target {
        name: "county".into(),
        client: Client::new(
            PortalUrl::parse(&s.sandbox.portal_url("county")).unwrap(),
            Credentials::Password {
                username: "admin".into(),
                password: PW.into(),
            },
            ClientOptions {
                hub_url: Some(hub.clone()),
                ..ClientOptions::default()
            },
        )
        .unwrap(),
        journal: dir.path().join("county.journal.sqlite"),
    };
    let county = &target.client;
    let (roads, taken) = {
        let c = Client::new(
            PortalUrl::parse(&s.sandbox.portal_url("county")).unwrap(),
            Credentials::Password {
                username: "admin".into(),
                password: PW.into(),
            },
            ClientOptions::default(),
        )
        .unwrap();
        let made = c
            .add_item(
                "admin",
                None,
                &[("title", "Roads"), ("type", "Hub Site Application")],
                Content::Text(r#"{"values":{}}"#),
                1 << 20,
            )
            .await
            .unwrap();
        let id = c.register_app(&made, &[]).await.unwrap();
        let me = c.portal_self().await.unwrap();
        let host = format!("water-{}.hub.arcgis.com", me["urlKey"].as_str().unwrap());
        c.add_hub_domain(
            &hub,
            &json!({"hostname": host, "siteId": made, "siteTitle": "Roads", "orgId": me["id"],
                "orgKey": me["urlKey"], "orgTitle": me["name"], "clientKey": id, "sslOnly": true}),
        )
        .await
        .unwrap();
        (made, host)
    };

    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let report = restored_into(&archive, &snapshot, &target, dir.path()).await;
    let restored = entry(&report, &site);
    assert!(restored.incomplete.is_none(), "{:?}", restored.incomplete);
    let new_site = restored.target_id.clone().unwrap();
    let key = county.portal_self().await.unwrap()["urlKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let host = format!("water-1-{key}.hub.arcgis.com");
    // The hostname another site held stays that site's.
    let held = county.hub_domain(&hub, &taken).await.unwrap().unwrap();
    assert_eq!(held["siteId"], roads.as_str());
    let why = restored.reason.as_deref().unwrap_or_default();
    assert!(why.contains(&host) && why.contains(&source_host), "{why}");

    // Hub finds the new site at its hostname, under the target's registration of it.
    let found = county.hub_domain(&hub, &host).await.unwrap().unwrap();
    assert_eq!(found["siteId"], new_site.as_str());
    let client_id = county
        .registered_app("admin", &new_site)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found["clientKey"], client_id.as_str());
    let data = data_of(county, &new_site).await;
    assert_eq!(data["values"]["defaultHostname"], host.as_str());
    assert_eq!(data["values"]["subdomain"], "water-1");
    assert_eq!(data["values"]["clientId"], client_id.as_str());
    let item = county.item(&new_site).await.unwrap();
    assert_eq!(item["url"], format!("https://{host}").as_str());
    assert!(
        item["typeKeywords"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "hubsubdomain|water-1"),
        "{}",
        item["typeKeywords"]
    );
    // The source's entry is untouched.
    let source = editor
        .hub_domain(&hub, &source_host)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source["siteId"], site.as_str());

    // Again: nothing entered or registered twice.
    restored_into(&archive, &snapshot, &target, dir.path()).await;
    let entries = county.hub_domains_of_site(&hub, &new_site).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
}
