//! The demo organization backed up whole, over HTTP and HTTPS, checked against the table of
//! `fixtures/demo-org/README.md`: every row, nothing more.

use std::collections::BTreeMap;

use orgpack_archive::manifest::{Obtained, Snapshot};
use orgpack_archive::{Archive, Repository};
use orgpack_backup::{NoProgress, PlanOptions, plan, run};
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_sandbox::{DemoOrg, Sandbox, SandboxOptions};

const PW: &str = "Demo-pw-19";

fn readme_rows() -> Vec<BTreeMap<String, String>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo-org/README.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().skip_while(|l| !l.starts_with("| key |"));
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let header = cells(lines.next().expect("the README has the table"));
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| header.iter().cloned().zip(cells(l)).collect())
        .collect()
}

/// One snapshot item, described as the README's columns describe it.
fn describe(snapshot: &Snapshot, demo: &DemoOrg, id: &str) -> BTreeMap<String, String> {
    let key_of: BTreeMap<&str, &str> = demo
        .items
        .iter()
        .map(|(k, v)| (v.as_str(), k.as_str()))
        .collect();
    let group_of: BTreeMap<&str, &str> = demo
        .groups
        .iter()
        .map(|(k, v)| (v.as_str(), k.as_str()))
        .collect();
    let item = snapshot.item(id).unwrap();
    let join = |mut v: Vec<String>| {
        v.sort();
        v.dedup();
        v.join(", ")
    };
    let access = serde_json::to_value(item.sharing.access).unwrap();
    let payloads: Vec<String> = item
        .payloads
        .iter()
        .map(|p| {
            let how = match p.obtained {
                _ if p.kind == orgpack_archive::manifest::PayloadKind::ViewDefinition => "view",
                _ if p.kind == orgpack_archive::manifest::PayloadKind::TileLayerDefinition => {
                    "tiles"
                }
                Obtained::FreshExport => "export",
                Obtained::OriginalSource => "original",
                Obtained::Download => "download",
            };
            if p.kind == orgpack_archive::manifest::PayloadKind::FeatureServiceDefinition {
                let names: Vec<&str> = p.layers.iter().map(|l| l.name.as_str()).collect();
                return format!("definition {}", names.join(" "));
            }
            let layers: Vec<String> = p
                .layers
                .iter()
                .map(|l| format!("{}={}", l.name, l.feature_count.unwrap_or_default()))
                .collect();
            format!("{how} {}", layers.join(" ")).trim_end().to_owned()
        })
        .collect();
    [
        ("key", key_of[id].to_owned()),
        ("type", item.item_type.clone()),
        // A title naming an item of the organization (a map area's package, `<service>-<area
        // id>`) names it by its key.
        (
            "title",
            demo.items.iter().fold(item.title.clone(), |t, (key, id)| {
                t.replace(id.as_str(), &format!("{{{key}}}"))
            }),
        ),
        ("owner", item.owner.clone()),
        (
            "folder",
            item.folder
                .as_ref()
                .map(|f| f.title.clone())
                .unwrap_or_default(),
        ),
        ("access", access.as_str().unwrap().to_owned()),
        (
            "groups",
            join(
                item.sharing
                    .groups
                    .iter()
                    .map(|g| group_of[g.id.as_str()].to_owned())
                    .collect(),
            ),
        ),
        (
            "resources",
            join(item.resources.iter().map(|r| r.path.clone()).collect()),
        ),
        (
            "relationships",
            join(
                item.relationships
                    .iter()
                    .map(|r| {
                        let arrow = match r.direction {
                            orgpack_archive::manifest::Direction::Forward => '>',
                            orgpack_archive::manifest::Direction::Reverse => '<',
                        };
                        format!(
                            "{}{arrow}{}",
                            r.relationship_type,
                            key_of[r.item_id.as_str()]
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "depends on",
            join(
                item.dependencies
                    .iter()
                    .filter(|d| !d.external)
                    .filter_map(|d| d.item_id.as_deref())
                    .filter(|t| *t != id)
                    .filter_map(|t| key_of.get(t).map(|k| (*k).to_owned()))
                    .collect(),
            ),
        ),
        ("payloads", payloads.join("; ")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_the_demo_org_holds_what_its_readme_says() {
    backup_and_check(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_over_https() {
    backup_and_check(true).await;
}

/// What a backup with people holds of the demo organization's people (fixtures/demo-org/org.json).
fn check_people(snapshot: &Snapshot) {
    let users: Vec<&str> = snapshot.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(
        users,
        ["admin", "crew.lead", "editor", "former.staff", "viewer"],
        "every member, not only owners"
    );
    let people = snapshot.people.as_ref().expect("people captured");
    assert!(people.members);
    let [role] = people.roles.as_slice() else {
        panic!("one custom role: {:?}", people.roles)
    };
    assert_eq!(role.name, "Field Lead");
    assert!(role.privileges.contains(&"features:user:edit".to_owned()));
    assert!(
        !role
            .privileges
            .iter()
            .any(|p| p.starts_with("portal:admin:"))
    );
    let user = |name: &str| snapshot.users.iter().find(|u| u.username == name).unwrap();
    let lead = user("crew.lead");
    assert_eq!(lead.role_id.as_deref(), Some(role.id.as_str()));
    assert_eq!(lead.role.as_deref(), Some("org_user"));
    assert_eq!(lead.email.as_deref(), Some("casey.lead@democity.example"));
    let editor = user("editor");
    assert_eq!(editor.role.as_deref(), Some("org_publisher"));
    assert_eq!(editor.role_id, None, "a built-in role has no role id");
    assert_eq!(editor.user_type.as_deref(), Some("creatorUT"));
    assert_eq!(
        editor.thumbnail.as_ref().and_then(|t| t.name.as_deref()),
        Some("logo.png")
    );
    assert!(user("former.staff").disabled);
    assert!(!editor.disabled);
    assert_eq!(
        people.settings["featuredGroups"],
        serde_json::json!([{"title": "Public Works", "owner": "editor"}])
    );
    let works = snapshot
        .groups
        .iter()
        .find(|g| g.title == "Public Works")
        .unwrap();
    assert_eq!(
        people.settings["homePageFeaturedContent"],
        format!("id:{}", works.id).as_str()
    );
    assert_eq!(
        people.category_schema.as_ref().unwrap()[0]["categories"][0]["title"],
        "Water"
    );
    assert!(works.thumbnail.is_some(), "group thumbnail");
    assert_eq!(
        works.category_schema.as_ref().unwrap()[0]["categories"][1]["title"],
        "Apps"
    );
    let editors = snapshot
        .groups
        .iter()
        .find(|g| g.title == "Hydrant Editors")
        .unwrap();
    let mut members: Vec<(&str, &str)> = editors
        .members
        .iter()
        .map(|m| (m.username.as_str(), m.member_type.as_str()))
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            ("admin", "owner"),
            ("crew.lead", "member"),
            ("editor", "admin")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_people_only_the_owners_are_kept() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox.seed_demo("demo", PW).await.unwrap();
    let admin = Client::new(
        PortalUrl::parse(&sandbox.portal_url("demo")).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repository::open_or_init(&dir.path().join("repo")).unwrap();
    let options = PlanOptions {
        people: false,
        ..PlanOptions::whole_org(dir.path().join("spool"))
    };
    let planned = plan(&admin, &options, &NoProgress).await.unwrap();
    let outcome = run(&admin, &planned, &mut repo, &NoProgress).await.unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let snapshot = Archive::open(&dir.path().join("repo"))
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    assert_eq!(snapshot.people, None);
    let users: Vec<&str> = snapshot.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(users, ["admin", "editor", "viewer"], "the owners only");
    let mut groups: Vec<&str> = snapshot.groups.iter().map(|g| g.title.as_str()).collect();
    groups.sort_unstable();
    assert_eq!(
        groups,
        ["Field Crews", "Hydrant repairs", "Public Works"],
        "groups shared into"
    );
    // A member's picture is only taken with people.
    assert!(snapshot.users.iter().all(|u| u.thumbnail.is_none()));
}

async fn backup_and_check(tls: bool) {
    let sandbox = Sandbox::start(SandboxOptions {
        tls,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let demo = sandbox.seed_demo("demo", PW).await.unwrap();
    assert_eq!(sandbox.portal_url("demo").starts_with("https://"), tls);
    let admin = Client::new(
        PortalUrl::parse(&sandbox.portal_url("demo")).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions {
            ca_certs: sandbox
                .certificate_pem()
                .map(|p| p.as_bytes().to_vec())
                .into_iter()
                .collect(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repository::open_or_init(&dir.path().join("repo")).unwrap();
    let options = PlanOptions::whole_org(dir.path().join("spool"));
    let planned = plan(&admin, &options, &NoProgress).await.unwrap();
    let outcome = run(&admin, &planned, &mut repo, &NoProgress).await.unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let snapshot = Archive::open(&dir.path().join("repo"))
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();

    let rows = readme_rows();
    assert_eq!(rows.len(), snapshot.items.len(), "one README row per item");
    for row in &rows {
        let id = &demo.items[&row["key"]];
        assert_eq!(
            &describe(&snapshot, &demo, id),
            row,
            "item `{}`",
            row["key"]
        );
    }
    // The rest of the README's promises.
    for key in ["city-map", "viewer-app"] {
        assert!(
            snapshot.item(&demo.items[key]).unwrap().thumbnail.is_some(),
            "{key} thumbnail"
        );
    }
    assert!(
        snapshot
            .item(&demo.items["city-gdb"])
            .unwrap()
            .metadata
            .is_some()
    );
    let mut groups: Vec<(&str, usize)> = snapshot
        .groups
        .iter()
        .map(|g| (g.title.as_str(), g.members.len()))
        .collect();
    groups.sort_unstable();
    // Every group of the organization, shared into or not, with its members.
    assert_eq!(
        groups,
        [
            ("Council Briefings", 2),
            ("Field Crews", 3),
            ("Hydrant Editors", 3),
            ("Hydrant repairs", 3),
            ("Public Works", 2)
        ]
    );
    check_people(&snapshot);
    let mut external: Vec<&str> = snapshot
        .items
        .iter()
        .flat_map(|i| &i.dependencies)
        .filter(|d| d.external)
        .map(|d| d.target.as_str())
        .collect();
    external.sort_unstable();
    assert_eq!(
        external,
        [
            "2dd7ec0e3b9b4d5e9f7b2f5a3e0c1d9a",
            "de26a3cf4cc9451298ea173c4b324736",
            "de26a3cf4cc9451298ea173c4b324736",
            "de26a3cf4cc9451298ea173c4b324736"
        ]
    );
    let group = snapshot
        .groups
        .iter()
        .find(|g| g.title == "Public Works")
        .unwrap();
    assert!(
        snapshot
            .item(&demo.items["viewer-app"])
            .unwrap()
            .dependencies
            .iter()
            .any(|d| d.target == group.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_content_cannot_be_listed_is_a_failed_part_and_the_rest_is_backed_up() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let demo = sandbox.seed_demo("demo", PW).await.unwrap();
    let admin = Client::new(
        PortalUrl::parse(&sandbox.portal_url("demo")).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap();
    // The viewer's content listing is refused, every time.
    sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some("content/users/viewer".into()),
        ..orgpack_sandbox::Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repository::open_or_init(&dir.path().join("repo")).unwrap();
    let options = PlanOptions::whole_org(dir.path().join("spool"));
    let planned = plan(&admin, &options, &NoProgress).await.unwrap();
    let outcome = run(&admin, &planned, &mut repo, &NoProgress).await.unwrap();
    let [failure] = outcome.failures.as_slice() else {
        panic!("{:?}", outcome.failures)
    };
    assert_eq!(
        (failure.id.as_str(), failure.part.as_deref()),
        ("viewer", Some("content listing"))
    );
    let snapshot = Archive::open(&dir.path().join("repo"))
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    assert!(
        snapshot.item(&demo.items["handbook"]).is_none(),
        "the viewer's item"
    );
    assert_eq!(
        snapshot.items.len(),
        demo.items.len() - 1,
        "everything else"
    );
}
