//! The organization's people come back: the demo organization restored with `--people create`
//! into an empty ArcGIS Enterprise organization has the same custom roles, members, groups and
//! sharing; with `--people map` and an owner map, everything lands with the mapped people; a
//! member who cannot be made is reported and their items still arrive; the initial password is
//! nowhere.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::Archive;
use orgpack_archive::manifest::Snapshot;
use orgpack_portal::{Client, Method};
use orgpack_restore::{InitialPassword, PeopleMode, RestoreOptions, Target, TargetReport, restore};
use orgpack_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::common::{back_up_whole, sign_in};

const PW: &str = "People-restore-pw-9";
const INITIAL: &str = "Initial-Temp-pw-42";

fn client(s: &Sandbox, org: &str, user: &str, password: &str) -> Client {
    sign_in(s, org, user, password)
}

async fn get(c: &Client, path: &str) -> Value {
    c.call("get", Method::Get, path, &[]).await.unwrap()
}

/// The demo organization backed up with its people.
async fn backup(s: &Sandbox, dir: &std::path::Path) -> (Archive, Snapshot) {
    back_up_whole(&client(s, "demo", "admin", PW), dir).await
}

async fn restore_into(
    s: &Sandbox,
    archive: &Archive,
    snapshot: &Snapshot,
    org: &str,
    options: RestoreOptions,
    dir: &std::path::Path,
) -> TargetReport {
    let target = Target {
        name: org.into(),
        client: client(s, org, "admin", PW),
        journal: dir.join(format!("{org}.sqlite")),
    };
    let mut reports = restore(
        archive,
        snapshot,
        std::slice::from_ref(&target),
        &RestoreOptions {
            staging_dir: dir.to_owned(),
            ..options
        },
        false,
    )
    .await
    .unwrap();
    reports.remove(0)
}

/// A member as compared across organizations: role (a custom role by its name), user type,
/// state and profile.
async fn member(c: &Client, m: &Value) -> Value {
    let role = match m["roleId"].as_str().filter(|r| *r != m["role"]) {
        Some(id) => get(c, &format!("portals/self/roles/{id}")).await["name"].clone(),
        None => m["role"].clone(),
    };
    json!({
        "role": role, "userLicenseTypeId": m["userLicenseTypeId"], "disabled": m["disabled"],
        "email": m["email"], "fullName": m["fullName"], "tags": m["tags"],
        "culture": m["culture"], "region": m["region"], "thumbnail": m["thumbnail"],
    })
}

/// Every member but the administrator (each organization has its own).
async fn members(c: &Client) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for m in c.org_users().await.unwrap() {
        if m["username"] == "admin" {
            continue;
        }
        out.insert(
            m["username"].as_str().unwrap().to_owned(),
            member(c, &m).await,
        );
    }
    out
}

async fn roles(c: &Client) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for r in c.roles().await.unwrap() {
        let id = r["id"].as_str().unwrap();
        if id.starts_with("org_") || id.starts_with("iAAA") || id.starts_with("iBBB") {
            continue;
        }
        out.insert(
            r["name"].as_str().unwrap().to_owned(),
            c.role_privileges(id).await.unwrap(),
        );
    }
    out
}

/// Every group of the organization by title: settings, owner, managers, members, thumbnail,
/// categories; usernames through `rename`.
async fn groups(
    c: &Client,
    org_id: &str,
    rename: &dyn Fn(&str) -> String,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for g in c.search_groups(&format!("orgid:{org_id}")).await.unwrap() {
        let id = g["id"].as_str().unwrap();
        let g = c.group(id).await.unwrap();
        let m = c.group_members(id).await.unwrap();
        let names = |k: &str| -> BTreeSet<String> {
            m[k].as_array()
                .unwrap()
                .iter()
                .map(|u| rename(u.as_str().unwrap()))
                .collect()
        };
        let schema = c.category_schema(Some(id)).await.unwrap();
        out.insert(
            g["title"].as_str().unwrap().to_owned(),
            json!({
                "access": g["access"], "isInvitationOnly": g["isInvitationOnly"],
                "capabilities": g["capabilities"], "tags": g["tags"],
                "owner": rename(m["owner"].as_str().unwrap()),
                "admins": names("admins"), "users": names("users"),
                "thumbnail": g["thumbnail"], "categorySchema": schema,
            }),
        );
    }
    out
}

/// Every item by title: type, owner, access, the titles of its groups, categories.
async fn items(
    c: &Client,
    org_id: &str,
    rename: &dyn Fn(&str) -> String,
) -> BTreeMap<String, Value> {
    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    for g in c.search_groups(&format!("orgid:{org_id}")).await.unwrap() {
        titles.insert(
            g["id"].as_str().unwrap().to_owned(),
            g["title"].as_str().unwrap().to_owned(),
        );
    }
    let mut out = BTreeMap::new();
    for i in c.search_all(&format!("orgid:{org_id}"), 100).await.unwrap() {
        let (id, owner) = (i["id"].as_str().unwrap(), i["owner"].as_str().unwrap());
        let view = c.user_item(owner, id).await.unwrap();
        let shared: BTreeSet<&str> = view["sharing"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| titles[g.as_str().unwrap()].as_str())
            .collect();
        // A map area's package is titled after its area (`<service>-<area id>`): the area
        // made again has a new id.
        let title = i["title"].as_str().unwrap();
        let title = match title.rsplit_once('-') {
            Some((service, id)) if i["type"] == "SQLite Geodatabase" && id.len() == 32 => {
                format!("{service}-{{area}}")
            }
            _ => title.to_owned(),
        };
        out.insert(
            title,
            json!({"type": i["type"], "owner": rename(owner), "access": i["access"],
                   "groups": shared, "categories": i["categories"]}),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_org_with_its_people_into_an_empty_enterprise_org() {
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let demo = s.seed_demo("demo", PW).await.unwrap();
    // The Inspections service shared into the shared-update group Hydrant Editors, as a field
    // team sets it up.
    let refused = client(&s, "demo", "editor", PW)
        .share_item_with(
            "editor",
            &demo.items["inspections"],
            false,
            false,
            &[&demo.groups["field-crews"], &demo.groups["hydrant-editors"]],
            true,
        )
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    s.add_enterprise_org("dr", "Demo City (recovered)").unwrap();
    s.add_user("dr", "admin", PW, "org_admin").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backup(&s, dir.path()).await;
    let options = RestoreOptions {
        people: PeopleMode::Create,
        initial_password: Some(InitialPassword::new(INITIAL.into())),
        ..RestoreOptions::default()
    };
    let report = restore_into(&s, &archive, &snapshot, "dr", options.clone(), dir.path()).await;
    assert!(report.is_complete(), "{report:#?}");
    let (src, dst) = (
        client(&s, "demo", "admin", PW),
        client(&s, "dr", "admin", PW),
    );
    let (src_org, dst_org) = (
        snapshot.source.org_id.clone(),
        dst.portal_self().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let same = |n: &str| n.to_owned();

    assert_eq!(roles(&dst).await, roles(&src).await, "custom roles");
    assert_eq!(members(&dst).await, members(&src).await, "members");
    assert_eq!(
        groups(&dst, &dst_org, &same).await,
        groups(&src, &src_org, &same).await,
        "groups"
    );
    let (before, after) = (
        items(&src, &src_org, &same).await,
        items(&dst, &dst_org, &same).await,
    );
    assert_eq!(after, before, "items, owners and sharing");
    assert_eq!(
        after["City overview"]["categories"],
        json!(["/Categories/Water/Hydrants"])
    );

    // The organization's settings, its groups mapped.
    let (me_src, me_dst) = (
        src.portal_self().await.unwrap(),
        dst.portal_self().await.unwrap(),
    );
    assert_eq!(me_dst["featuredGroups"], me_src["featuredGroups"]);
    let works = dst
        .search_groups("title:\"Public Works\"")
        .await
        .unwrap()
        .into_iter()
        .find(|g| g["title"] == "Public Works")
        .unwrap();
    assert_eq!(
        me_dst["homePageFeaturedContent"],
        format!("id:{}", works["id"].as_str().unwrap()).as_str()
    );
    assert_eq!(
        dst.category_schema(None).await.unwrap(),
        src.category_schema(None).await.unwrap()
    );

    // The shared-update group still works: its member, signing in with the initial password,
    // edits an item of another member shared there.
    let lead = client(&s, "dr", "crew.lead", INITIAL);
    let editors = dst
        .search_groups("title:\"Hydrant Editors\"")
        .await
        .unwrap()
        .into_iter()
        .find(|g| g["title"] == "Hydrant Editors")
        .unwrap();
    let shared = dst
        .group_content(editors["id"].as_str().unwrap())
        .await
        .unwrap();
    let inspections = shared
        .iter()
        .find(|i| i["type"] == "Feature Service")
        .unwrap_or_else(|| panic!("{shared:?}"));
    let owner = inspections["owner"].as_str().unwrap();
    assert_ne!(owner, "crew.lead");
    lead.call(
        "update",
        Method::Post,
        &format!(
            "content/users/{owner}/items/{}/update",
            inspections["id"].as_str().unwrap()
        ),
        &[("snippet", "Checked by the field lead")],
    )
    .await
    .unwrap();

    // Again: nothing new, nothing duplicated.
    let again = restore_into(&s, &archive, &snapshot, "dr", options, dir.path()).await;
    assert!(again.is_complete(), "{again:#?}");
    assert_eq!(items(&dst, &dst_org, &same).await.len(), after.len());
    assert_eq!(members(&dst).await.len(), members(&src).await.len());
    assert_eq!(
        groups(&dst, &dst_org, &same).await.len(),
        groups(&src, &src_org, &same).await.len()
    );

    // The initial password is in no report and nowhere in the repository or the journal.
    for r in [&report, &again] {
        let text = serde_json::to_string(r).unwrap();
        assert!(!text.contains(INITIAL), "the report holds the password");
    }
    let has = |b: &[u8]| b.windows(INITIAL.len()).any(|w| w == INITIAL.as_bytes());
    for entry in walk(dir.path()) {
        assert!(
            !has(&std::fs::read(&entry).unwrap()),
            "{} holds the password",
            entry.display()
        );
    }
    for part in snapshot.parts() {
        assert!(!has(&archive.read_part(part.descriptor).unwrap()), "{part}");
    }
    assert!(!has(&serde_json::to_vec(&snapshot).unwrap()));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_people_in_an_organization_with_other_usernames() {
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    s.seed_demo("demo", PW).await.unwrap();
    s.add_org("staging", "Staging").unwrap();
    s.add_user("staging", "admin", PW, "org_admin").unwrap();
    for (name, role) in [
        ("dana_staging", "org_publisher"),
        ("vic_staging", "org_user"),
        ("casey_staging", "org_user"),
    ] {
        s.add_user("staging", name, PW, role).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backup(&s, dir.path()).await;
    let map: BTreeMap<String, String> = [
        ("editor", "dana_staging"),
        ("viewer", "vic_staging"),
        ("crew.lead", "casey_staging"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let options = RestoreOptions {
        people: PeopleMode::Map,
        owner_map: map.clone(),
        ..RestoreOptions::default()
    };
    let report = restore_into(&s, &archive, &snapshot, "staging", options, dir.path()).await;
    assert!(report.is_complete(), "{report:#?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("warning: user `former.staff` is not in the target")),
        "{:?}",
        report.notes
    );
    let (src, dst) = (
        client(&s, "demo", "admin", PW),
        client(&s, "staging", "admin", PW),
    );
    let dst_org = dst.portal_self().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rename = |n: &str| map.get(n).cloned().unwrap_or_else(|| n.to_owned());
    let same = |n: &str| n.to_owned();
    assert_eq!(
        items(&dst, &dst_org, &same).await,
        items(&src, &snapshot.source.org_id, &rename).await,
        "every item with its mapped owner and sharing"
    );
    // Thumbnails and categories come too; former.staff, a member of no group, is not missed.
    assert_eq!(
        groups(&dst, &dst_org, &same).await,
        groups(&src, &snapshot.source.org_id, &rename).await,
        "groups with mapped owners and members"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_who_cannot_be_made_are_reported_and_their_items_still_arrive() {
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    s.seed_demo("demo", PW).await.unwrap();
    // Another ArcGIS Online organization: the demo's usernames are taken across ArcGIS Online.
    s.add_org("other", "Other County").unwrap();
    s.add_user("other", "admin", PW, "org_admin").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backup(&s, dir.path()).await;
    let options = RestoreOptions {
        people: PeopleMode::Create,
        ..RestoreOptions::default()
    };
    let report = restore_into(&s, &archive, &snapshot, "other", options, dir.path()).await;
    assert!(report.is_complete(), "{report:#?}");
    for name in ["editor", "viewer", "crew.lead", "former.staff"] {
        assert!(
            report.notes.iter().any(|n| n.starts_with(&format!(
                "warning: user `{name}` could not be created (not invited: the username `{name}` is taken"
            ))),
            "{name}: {:?}",
            report.notes
        );
    }
    let dst = client(&s, "other", "admin", PW);
    let dst_org = dst.portal_self().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = items(&dst, &dst_org, &|n: &str| n.to_owned()).await;
    assert_eq!(got.len(), snapshot.items.len(), "every item arrived");
    assert!(got.values().all(|i| i["owner"] == "admin"), "{got:#?}");
    // The custom role came anyway: it is the organization's, whoever holds it.
    assert!(roles(&dst).await.contains_key("Field Lead"));
}
