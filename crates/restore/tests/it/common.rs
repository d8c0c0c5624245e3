//! What the sandbox-organization tests share: signing in, and a whole-organization backup.

use orgpack_archive::manifest::Snapshot;
use orgpack_archive::{Archive, Repository};
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_sandbox::Sandbox;

/// `user` of organization `org`, signed in with `password`.
pub fn sign_in(s: &Sandbox, org: &str, user: &str, password: &str) -> Client {
    Client::new(
        PortalUrl::parse(&s.portal_url(org)).unwrap(),
        Credentials::Password {
            username: user.into(),
            password: password.into(),
        },
        ClientOptions::default(),
    )
    .unwrap()
}

/// The organization behind `source`, backed up whole (people too) into `dir/repo`; it must
/// capture everything.
pub async fn back_up_whole(source: &Client, dir: &std::path::Path) -> (Archive, Snapshot) {
    let repo = dir.join("repo");
    let mut repository = Repository::open_or_init(&repo).unwrap();
    let options = orgpack_backup::PlanOptions::whole_org(dir.join("spool"));
    let plan = orgpack_backup::plan(source, &options, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let outcome = orgpack_backup::run(source, &plan, &mut repository, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let archive = Archive::open(&repo).unwrap();
    let snapshot = archive.snapshot(&outcome.snapshot).unwrap();
    (archive, snapshot)
}

/// `snapshot` as a backup that counted one feature more in every layer of `item`'s payloads
/// (every item's, with `None`): what a read-back check must call a difference.
pub fn counting_one_more(snapshot: &Snapshot, item: Option<&str>) -> Snapshot {
    let mut more = snapshot.clone();
    for payload in more
        .items
        .iter_mut()
        .filter(|i| item.is_none_or(|id| i.id == id))
        .flat_map(|i| i.payloads.iter_mut())
    {
        for layer in &mut payload.layers {
            layer.feature_count = layer.feature_count.map(|n| n + 1);
        }
    }
    more
}
