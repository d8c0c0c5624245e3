//! Fan-out through a bad network: 10 % of requests failing (503, 429, error envelopes, dropped
//! connections) and tokens expiring under the restore, and a target that goes away mid-run.
//! The faulty targets end exactly as a clean restore leaves a target; the vanished one is
//! reported failed while the other completes, and a rerun finishes it.

use std::collections::BTreeMap;
use std::path::Path;

use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_restore::{Target, restore};
use orgpack_sandbox::{Faults, Sandbox, SandboxOptions};

use crate::seed::{PW, seeded};
use crate::{backed_up, empty_target, options, target};

/// An organization's items as (type, title, access) → how many.
async fn census(c: &Client) -> BTreeMap<(String, String, String), usize> {
    let mut out = BTreeMap::new();
    for item in c.search_all("*", 100).await.unwrap() {
        let s = |k: &str| item[k].as_str().unwrap_or_default().to_owned();
        *out.entry((s("type"), s("title"), s("access"))).or_default() += 1;
    }
    out
}

/// A target `org` on `sandbox` (a portal of its own), with an administrator.
fn elsewhere(sandbox: &Sandbox, org: &str, dir: &Path) -> Target {
    Target {
        name: org.to_owned(),
        client: Client::new(
            PortalUrl::parse(&sandbox.portal_url(org)).unwrap(),
            Credentials::Password {
                username: "admin".into(),
                password: PW.into(),
            },
            ClientOptions::default(),
        )
        .unwrap(),
        journal: dir.join(format!("{org}.journal.sqlite")),
    }
}

async fn portal(
    orgs: &[&str],
    data: Option<&Path>,
    listen: Option<std::net::SocketAddr>,
) -> Sandbox {
    let mut options = SandboxOptions {
        data_dir: data.map(Path::to_owned),
        ..SandboxOptions::default()
    };
    if let Some(addr) = listen {
        options.listen = addr;
    }
    let s = Sandbox::start(options).await.unwrap();
    for org in orgs {
        if !s.has_org(org).unwrap() {
            s.add_org(org, org).unwrap();
            s.add_user(org, "admin", PW, "org_admin").unwrap();
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_through_failing_requests_and_expiring_tokens_ends_as_a_clean_one() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let clean = [empty_target(&s, "clean", dir.path())];
    let done = restore(&archive, &snapshot, &clean, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(done[0].is_complete(), "{:#?}", done[0]);
    let expected = census(&clean[0].client).await;

    let bad = portal(&["north", "south"], None, None).await;
    bad.set_faults(Faults {
        per_mille: 100,
        seed: 11,
        expire_per_mille: 50,
        ..Faults::default()
    });
    let targets = [
        elsewhere(&bad, "north", dir.path()),
        elsewhere(&bad, "south", dir.path()),
    ];
    let reports = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    let injected = bad.faults_injected();
    bad.set_faults(Faults::default());
    assert!(injected.failed > 5 && injected.expired > 0, "{injected:?}");
    for (report, t) in reports.iter().zip(&targets) {
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(census(&t.client).await, expected, "{}", t.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_goes_away_fails_alone_and_a_rerun_finishes_it() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    s.sandbox.add_org("stays", "Stays").unwrap();
    s.sandbox
        .add_user("stays", "admin", PW, "org_admin")
        .unwrap();
    let data = dir.path().join("far-portal");
    let far = portal(&["far"], Some(&data), None).await;
    let addr = far.addr();
    // Every request to the far portal is slow, so it is still busy when it goes away.
    far.set_faults(Faults {
        delay_ms: 20,
        ..Faults::default()
    });
    let targets = [
        target(&s, "stays", dir.path()),
        elsewhere(&far, "far", dir.path()),
    ];
    let far = std::sync::Mutex::new(Some(far));
    let watcher = async {
        loop {
            let served = far
                .lock()
                .unwrap()
                .as_ref()
                .map_or(u64::MAX, Sandbox::requests);
            if served >= 15 {
                drop(far.lock().unwrap().take()); // the portal stops answering
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let opts = options(dir.path());
    let (reports, ()) = tokio::join!(
        restore(&archive, &snapshot, &targets, &opts, false),
        watcher
    );
    let reports = reports.unwrap();
    assert!(reports[0].is_complete(), "{:#?}", reports[0]);
    assert!(
        !reports[1].is_complete(),
        "the far target cannot have finished"
    );
    let clean = census(&targets[0].client).await;

    // The portal comes back (same address, same data); a rerun finishes it without duplicates.
    let back = portal(&["far"], Some(&data), Some(addr)).await;
    let again = restore(
        &archive,
        &snapshot,
        &targets[1..],
        &options(dir.path()),
        false,
    )
    .await
    .unwrap();
    assert!(again[0].is_complete(), "{:#?}", again[0]);
    assert_eq!(census(&targets[1].client).await, clean);
    drop(back);
}
