//! The client against the stand-in: sign-in, errors, retries, paging, limits, and no secret in
//! any error.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use orgpack_portal::{
    Client, ClientOptions, Credentials, ErrorKind, Method, PortalUrl, RetryPolicy,
};

use crate::mock::{self, PASSWORD};

fn options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        timeout: Duration::from_secs(2),
        ..ClientOptions::default()
    }
}

fn admin() -> Credentials {
    Credentials::Password {
        username: "admin".into(),
        password: PASSWORD.into(),
    }
}

/// A client of a fresh stand-in, signed in as its administrator.
pub async fn client_for_tests() -> (Client, std::sync::Arc<mock::Counters>) {
    client().await
}

async fn client() -> (Client, std::sync::Arc<mock::Counters>) {
    let (root, state) = mock::start().await;
    (
        Client::new(PortalUrl::parse(&root).unwrap(), admin(), options()).unwrap(),
        state,
    )
}

#[tokio::test]
async fn signs_in_once_and_reads_the_portal() {
    let (c, state) = client().await;
    let me = c.portal_self().await.unwrap();
    assert_eq!(me["name"], "Test Org");
    c.portal_self().await.unwrap();
    assert_eq!(
        state.sign_ins.load(Ordering::SeqCst),
        1,
        "the token is reused"
    );
}

#[tokio::test]
async fn an_expired_token_is_replaced_transparently() {
    let (c, state) = client().await;
    c.portal_self().await.unwrap();
    state.revoked_below.store(u64::MAX, Ordering::SeqCst);
    let err = c.portal_self().await.unwrap_err();
    assert!(err.is_token_problem(), "every token is refused now: {err}");
    state.revoked_below.store(2, Ordering::SeqCst);
    c.portal_self().await.unwrap();
    assert!(state.sign_ins.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn calls_in_flight_that_meet_a_revoked_token_sign_in_again_once_between_them() {
    let (c, state) = client().await;
    c.portal_self().await.unwrap();
    assert_eq!(state.sign_ins.load(Ordering::SeqCst), 1);
    // Every token issued so far is revoked while sixteen calls hold it: the first to hear signs in
    // again, the others use the new token instead of each signing in (and of throwing the new
    // one away, which could make a call fail after its one retry).
    state
        .revoked_below
        .store(state.issued.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    let calls: Vec<_> = (0..16).map(|_| c.portal_self()).collect();
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(
        state.sign_ins.load(Ordering::SeqCst),
        2,
        "one sign-in for the sixteen rejected calls"
    );
}

#[tokio::test]
async fn paging_collects_every_result_and_the_ceiling_is_refused() {
    let (c, _) = client().await;
    let all = c.search_all("owner:admin", 10).await.unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(all[24]["title"], "Item 25");
    let err = c.search_all("huge", 100).await.unwrap_err();
    assert!(err.to_string().contains("split the query"), "{err}");
}

#[tokio::test]
async fn errors_in_envelopes_are_typed_and_name_the_call() {
    let (c, _) = client().await;
    let item = c.item("1a2b3c4d5e6f708192a3b4c5d6e7f801").await.unwrap();
    assert_eq!(
        item["someFieldWeDoNotKnow"]["kept"], true,
        "unknown fields are kept"
    );
    let err = c
        .item("00000000000000000000000000000000")
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_retryable(), "{err}");
    assert!(
        err.to_string()
            .starts_with("item 00000000000000000000000000000000 ("),
        "{err}"
    );
    let err = c
        .call("forbidden", Method::Get, "forbidden", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Portal { code: 403, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_retry_after_is_honoured() {
    let (c, state) = client().await;
    assert_eq!(
        c.call("flaky", Method::Get, "flaky", &[]).await.unwrap()["ok"],
        true
    );
    assert_eq!(
        state.flaky.load(Ordering::SeqCst),
        3,
        "two 503s, then success"
    );
    let started = Instant::now();
    c.call("limited", Method::Get, "limited", &[])
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

#[tokio::test]
async fn html_and_stalls_fail_clearly_without_leaking_the_token() {
    let (c, _) = client().await;
    let err = c.call("html", Method::Get, "html", &[]).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Decode(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("<html>") && text.contains("token=REDACTED"),
        "{text}"
    );
    assert!(!text.contains("tok-"), "{text}");
    let started = Instant::now();
    let err = c
        .call("stall", Method::Get, "stall", &[])
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.to_string().contains("timed out"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a stalled server cannot hang the client"
    );
}

#[tokio::test]
async fn wrong_password_and_unreachable_portals_fail_without_the_password() {
    let (root, _) = mock::start().await;
    let wrong = Credentials::Password {
        username: "admin".into(),
        password: "not-the-Tr0ub4dor".into(),
    };
    let c = Client::new(PortalUrl::parse(&root).unwrap(), wrong, options()).unwrap();
    let err = c.portal_self().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Auth(_)), "{err}");
    let gone = Client::new(
        PortalUrl::parse("http://127.0.0.1:9/org").unwrap(),
        admin(),
        options(),
    )
    .unwrap();
    let err = gone.portal_self().await.unwrap_err();
    for e in [
        err.to_string(),
        format!("{err:?}"),
        format!("{:?}", admin()),
    ] {
        assert!(
            !e.contains(PASSWORD) && !e.contains("not-the-Tr0ub4dor"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let (root, state) = mock::start().await;
    let c = std::sync::Arc::new(
        Client::new(
            PortalUrl::parse(&root).unwrap(),
            Credentials::Anonymous,
            ClientOptions {
                max_in_flight: 3,
                ..options()
            },
        )
        .unwrap(),
    );
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = std::sync::Arc::clone(&c);
            tokio::spawn(async move { c.call("slow", Method::Get, "slow", &[]).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(state.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn data_streams_through_redirects_without_the_token() {
    let (c, state) = client().await;
    state.data_failures_left.store(1, Ordering::SeqCst);
    let mut file = Vec::new();
    let n = c.item_data("f11e", &mut file).await.unwrap();
    assert_eq!(n, Some(3 << 20));
    assert!(file == mock::file_bytes(), "the bytes arrive exactly");
    assert_eq!(
        state.blob_downloads.load(Ordering::SeqCst),
        1,
        "the 503 before any byte was retried"
    );
    assert_eq!(
        state.blob_token_leaks.load(Ordering::SeqCst),
        0,
        "the signed blob URL never sees the token"
    );

    let mut json = Vec::new();
    c.item_data("json", &mut json).await.unwrap();
    assert_eq!(json, br#"{"operationalLayers":[],"version":"2.31"}"#);
    let mut none = Vec::new();
    assert_eq!(
        c.item_data("nothing", &mut none).await.unwrap(),
        None,
        "an item without a file"
    );
    assert!(none.is_empty());
    assert_eq!(
        c.item_metadata("json", &mut none).await.unwrap(),
        None,
        "no metadata is not an error"
    );
}

#[tokio::test]
async fn resources_are_listed_across_pages_and_read_by_full_path() {
    let (c, _) = client().await;
    let listed = c
        .item_resources("1a2b3c4d5e6f708192a3b4c5d6e7f801")
        .await
        .unwrap();
    let paths: Vec<&str> = listed.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "config/config.json",
            "images/a b.png",
            "images/legend/x.png"
        ]
    );
    let mut bytes = Vec::new();
    c.item_resource(
        "1a2b3c4d5e6f708192a3b4c5d6e7f801",
        "images/a b.png",
        &mut bytes,
    )
    .await
    .unwrap();
    assert_eq!(
        bytes, b"resource:images/a b.png",
        "nested path and space survive the round trip"
    );
}

#[tokio::test]
async fn related_items_by_type_and_direction() {
    let (c, _) = client().await;
    let forward = c
        .related_items("1a2b3c4d5e6f708192a3b4c5d6e7f801", "Map2Service", true)
        .await
        .unwrap();
    assert_eq!(forward.len(), 1);
    assert!(
        c.related_items("1a2b3c4d5e6f708192a3b4c5d6e7f801", "Map2Service", false)
            .await
            .unwrap()
            .is_empty()
    );
}
