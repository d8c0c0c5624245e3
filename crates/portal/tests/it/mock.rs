//! A small portal stand-in on 127.0.0.1: `generateToken`, `portals/self`, `search` with paging,
//! items, and routes that fail on purpose. Errors come as the portal sends them: HTTP 200 with an
//! error envelope. The full stand-in is the sandbox (issue 3); this one serves the client's tests.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Tr0ub4dor&3-secret";

#[derive(Default)]
pub struct Counters {
    pub sign_ins: AtomicU64,
    pub flaky: AtomicU64,
    pub limited: AtomicU64,
    pub issued: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
    /// Tokens issued before this number are expired.
    pub revoked_below: AtomicU64,
    /// Blob downloads that carried a token (must stay 0).
    pub blob_token_leaks: AtomicU64,
    pub blob_downloads: AtomicU64,
    pub data_failures_left: AtomicU64,
    pub items: std::sync::Mutex<HashMap<String, Added>>,
}

/// What the stand-in received for an item.
#[derive(Debug, Default, Clone)]
pub struct Added {
    pub params: HashMap<String, String>,
    pub file_bytes: usize,
    /// Upload parts as they arrived: number and bytes.
    pub parts: Vec<(u32, Vec<u8>)>,
    pub committed: bool,
    pub status_polls: u32,
}

/// The bytes of the file item's data: 3 MiB, deterministic.
pub fn file_bytes() -> Vec<u8> {
    (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect()
}

type S = Arc<Counters>;

fn error(code: i64, message: &str) -> Json<Value> {
    Json(json!({"error": {"code": code, "message": message, "details": []}}))
}

fn token_ok(s: &Counters, params: &HashMap<String, String>) -> Result<(), Json<Value>> {
    let Some(t) = params.get("token") else {
        return Err(error(499, "Token Required"));
    };
    let n: u64 = t
        .strip_prefix("tok-")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| error(498, "Invalid token."))?;
    if n < s.revoked_below.load(Ordering::SeqCst) {
        return Err(error(498, "Invalid token."));
    }
    Ok(())
}

async fn generate_token(State(s): State<S>, Form(p): Form<HashMap<String, String>>) -> Json<Value> {
    if p.get("username").map(String::as_str) != Some("admin")
        || p.get("password").map(String::as_str) != Some(PASSWORD)
    {
        return error(400, "Unable to generate token.");
    }
    s.sign_ins.fetch_add(1, Ordering::SeqCst);
    let n = s.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000;
    Json(json!({"token": format!("tok-{n}"), "expires": expires, "ssl": false}))
}

async fn portal_self(State(s): State<S>, Query(p): Query<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    Json(
        json!({"id": "0123456789ABCDEF", "name": "Test Org", "isPortal": false, "currentVersion": "2025.3", "user": {"username": "admin"}}),
    )
}

async fn search(State(s): State<S>, Query(p): Query<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let total: u64 = if p.get("q").is_some_and(|q| q.contains("huge")) {
        25_000
    } else {
        25
    };
    let start: u64 = p.get("start").and_then(|v| v.parse().ok()).unwrap_or(1);
    let num: u64 = p.get("num").and_then(|v| v.parse().ok()).unwrap_or(10);
    let end = (start + num - 1).min(total);
    let results: Vec<Value> = (start..=end)
        .map(|i| json!({"id": format!("{i:032x}"), "title": format!("Item {i}")}))
        .collect();
    let next = if end >= total {
        -1
    } else {
        i64::try_from(end + 1).unwrap()
    };
    Json(
        json!({"query": p.get("q"), "total": total, "start": start, "num": num, "nextStart": next, "results": results}),
    )
}

async fn item(
    State(s): State<S>,
    Path(id): Path<String>,
    Query(p): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    if id == "00000000000000000000000000000000" {
        return error(400, "Item does not exist or is inaccessible.");
    }
    Json(
        json!({"id": id, "type": "Web Map", "title": "Parcels", "someFieldWeDoNotKnow": {"kept": true}}),
    )
}

async fn data(
    State(s): State<S>,
    Path(id): Path<String>,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = token_ok(&s, &p) {
        return e.into_response();
    }
    match id.as_str() {
        "f11e" => {
            if s.data_failures_left.load(Ordering::SeqCst) > 0 {
                s.data_failures_left.fetch_sub(1, Ordering::SeqCst);
                return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
            }
            (StatusCode::FOUND, [("location", "/blob/f11e?sig=abc123")]).into_response()
        }
        "json" => (
            [("content-type", "text/plain; charset=utf-8")],
            r#"{"operationalLayers":[],"version":"2.31"}"#,
        )
            .into_response(),
        _ => error(500, "Item does not have a file.").into_response(),
    }
}

async fn blob(State(s): State<S>, Query(p): Query<HashMap<String, String>>) -> Response {
    s.blob_downloads.fetch_add(1, Ordering::SeqCst);
    if p.contains_key("token") {
        s.blob_token_leaks.fetch_add(1, Ordering::SeqCst);
    }
    ([("content-type", "application/octet-stream")], file_bytes()).into_response()
}

async fn resources(State(s): State<S>, Query(p): Query<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let all = [
        ("config/config.json", 40),
        ("images/a b.png", 3),
        ("images/legend/x.png", 5),
    ];
    let start: usize = p.get("start").and_then(|v| v.parse().ok()).unwrap_or(1);
    let page: Vec<Value> = all
        .iter()
        .skip(start - 1)
        .take(2)
        .map(|(r, n)| json!({"resource": r, "size": n, "created": 0}))
        .collect();
    let next = if start + 2 > all.len() {
        -1
    } else {
        i64::try_from(start + 2).unwrap()
    };
    Json(
        json!({"total": all.len(), "start": start, "num": 2, "nextStart": next, "resources": page}),
    )
}

async fn resource(
    State(s): State<S>,
    Path((_, path)): Path<(String, String)>,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = token_ok(&s, &p) {
        return e.into_response();
    }
    format!("resource:{path}").into_response()
}

async fn metadata() -> Json<Value> {
    error(400, "Item metadata does not exist or is inaccessible.")
}

async fn related(State(s): State<S>, Query(p): Query<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let items = if p.get("relationshipType").map(String::as_str) == Some("Map2Service")
        && p.get("direction").map(String::as_str) == Some("forward")
    {
        vec![json!({"id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "type": "Feature Service"})]
    } else {
        Vec::new()
    };
    Json(json!({"total": items.len(), "relatedItems": items}))
}

/// The form fields and total file bytes of a request, whether a form or multipart.
async fn fields(req: axum::extract::Request) -> (HashMap<String, String>, Vec<u8>) {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if multipart {
        let mut m = axum::extract::Multipart::from_request(req, &())
            .await
            .unwrap();
        let (mut fields, mut bytes) = (HashMap::new(), Vec::new());
        while let Some(field) = m.next_field().await.unwrap() {
            let name = field.name().unwrap_or_default().to_owned();
            if field.file_name().is_some() {
                bytes.extend_from_slice(&field.bytes().await.unwrap());
            } else {
                fields.insert(name, field.text().await.unwrap());
            }
        }
        (fields, bytes)
    } else {
        let Form(f) = Form::<HashMap<String, String>>::from_request(req, &())
            .await
            .unwrap();
        (f, Vec::new())
    }
}

async fn add_item(
    State(s): State<S>,
    Query(q): Query<HashMap<String, String>>,
    req: axum::extract::Request,
) -> Json<Value> {
    // The token may come in the query string or in the form body, as on a real portal.
    let (mut params, file_bytes) = fields(req).await;
    params.extend(q);
    if let Err(e) = token_ok(&s, &params) {
        return e;
    }
    if !params.contains_key("type") || !params.contains_key("title") {
        return error(400, "'type' and 'title' property required.");
    }
    let id = format!("{:032x}", s.issued.fetch_add(1, Ordering::SeqCst) + 1000);
    let multipart = params.get("multipart").map(String::as_str) == Some("true");
    s.items.lock().unwrap().insert(
        id.clone(),
        Added {
            params,
            file_bytes: file_bytes.len(),
            committed: !multipart,
            ..Added::default()
        },
    );
    Json(json!({"success": true, "id": id, "folder": null}))
}

async fn add_part(
    State(s): State<S>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    req: axum::extract::Request,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &q) {
        return e;
    }
    let Some(part) = q.get("partNum").and_then(|p| p.parse::<u32>().ok()) else {
        return error(400, "partNum required");
    };
    let (_, bytes) = fields(req).await;
    let mut items = s.items.lock().unwrap();
    let Some(item) = items.get_mut(&id) else {
        return error(400, "Item does not exist or is inaccessible.");
    };
    item.parts.push((part, bytes));
    Json(json!({"success": true}))
}

async fn commit(
    State(s): State<S>,
    Path((_, id)): Path<(String, String)>,
    Form(p): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let mut items = s.items.lock().unwrap();
    let Some(item) = items.get_mut(&id) else {
        return error(400, "Item does not exist or is inaccessible.");
    };
    item.committed = true;
    Json(json!({"success": true, "id": id}))
}

async fn status(
    State(s): State<S>,
    Path((_, id)): Path<(String, String)>,
    Query(p): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let mut items = s.items.lock().unwrap();
    let Some(item) = items.get_mut(&id) else {
        return error(400, "Item does not exist or is inaccessible.");
    };
    item.status_polls += 1;
    let state = if !item.committed {
        "partial"
    } else if item
        .params
        .get("title")
        .is_some_and(|t| t.contains("doomed"))
    {
        "failed"
    } else if item.status_polls < 3 {
        "processing"
    } else {
        "completed"
    };
    Json(
        json!({"status": state, "statusMessage": if state == "failed" { "Export failed: layer is empty" } else { "" }, "itemId": id}),
    )
}

async fn share(
    State(s): State<S>,
    Path((_, id)): Path<(String, String)>,
    Form(p): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let refused: Vec<&str> = p
        .get("groups")
        .map(|g| {
            g.split(',')
                .map(str::trim)
                .filter(|g| g.starts_with("bad"))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({"notSharedWith": refused, "itemId": id}))
}

async fn create_folder(
    State(s): State<S>,
    Path(u): Path<String>,
    Form(p): Form<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    Json(
        json!({"success": true, "folder": {"username": u, "id": "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0", "title": p.get("title")}}),
    )
}

async fn export(State(s): State<S>, Form(p): Form<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let id = format!("{:032x}", s.issued.fetch_add(1, Ordering::SeqCst) + 5000);
    let mut params = p.clone();
    params.insert("title".into(), p.get("title").cloned().unwrap_or_default());
    s.items.lock().unwrap().insert(
        id.clone(),
        Added {
            params,
            committed: true,
            ..Added::default()
        },
    );
    Json(
        json!({"type": "File Geodatabase", "size": -1, "jobId": "job-1", "exportItemId": id, "serviceItemId": p.get("itemId"), "exportFormat": p.get("exportFormat")}),
    )
}

async fn layer_query(State(s): State<S>, Query(p): Query<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    if p.get("returnCountOnly").map(String::as_str) != Some("true") {
        return error(400, "Unable to complete operation.");
    }
    Json(json!({"count": 250}))
}

async fn user_content(
    State(s): State<S>,
    Path(u): Path<String>,
    Query(p): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let start: u64 = p.get("start").and_then(|v| v.parse().ok()).unwrap_or(1);
    let num: u64 = p.get("num").and_then(|v| v.parse().ok()).unwrap_or(10);
    let total = 130u64;
    let end = (start + num - 1).min(total);
    let items: Vec<Value> = (start..=end)
        .map(|i| json!({"id": format!("{i:032x}"), "owner": u}))
        .collect();
    Json(
        json!({"username": u, "total": total, "start": start, "num": num, "nextStart": if end >= total { -1 } else { i64::try_from(end + 1).unwrap() },
        "currentFolder": null, "items": items,
        "folders": [{"username": u, "id": "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0", "title": "Planning", "created": 0}]}),
    )
}

async fn user_item(
    State(s): State<S>,
    Path((u, id)): Path<(String, String)>,
    Query(p): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    Json(
        json!({"item": {"id": id, "owner": u, "access": "shared"}, "sharing": {"access": "shared", "groups": ["c0ffee00c0ffee00c0ffee00c0ffee00"]}}),
    )
}

async fn group_members(
    State(s): State<S>,
    Query(p): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    Json(json!({"owner": "admin", "admins": ["admin"], "users": ["editor", "viewer"]}))
}

async fn create_group(State(s): State<S>, Form(p): Form<HashMap<String, String>>) -> Json<Value> {
    if let Err(e) = token_ok(&s, &p) {
        return e;
    }
    let Some(title) = p.get("title") else {
        return error(400, "'title' required");
    };
    Json(
        json!({"success": true, "group": {"id": "c0ffee00c0ffee00c0ffee00c0ffee00", "title": title, "access": p.get("access")}}),
    )
}

async fn flaky(State(s): State<S>) -> Response {
    // Fails twice with 503, then answers.
    if s.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    }
    Json(json!({"ok": true})).into_response()
}

async fn limited(State(s): State<S>) -> Response {
    if s.limited.fetch_add(1, Ordering::SeqCst) == 0 {
        let mut headers = HeaderMap::new();
        headers.insert("Retry-After", "1".parse().unwrap());
        return (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response();
    }
    Json(json!({"ok": true})).into_response()
}

async fn html() -> Response {
    (
        [("content-type", "text/html")],
        "<html><body>Sign in to ArcGIS</body></html>",
    )
        .into_response()
}

async fn stall() -> Json<Value> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Json(json!({}))
}

async fn forbidden() -> Json<Value> {
    error(
        403,
        "You do not have permissions to access this resource or perform this operation.",
    )
}

async fn slow(State(s): State<S>) -> Json<Value> {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    Json(json!({"ok": true}))
}

/// Start the stand-in; returns its portal root (`http://127.0.0.1:PORT/org`) and its counters.
pub async fn start() -> (String, S) {
    let state: S = Arc::new(Counters::default());
    let rest = Router::new()
        .route("/generateToken", post(generate_token))
        .route("/portals/self", get(portal_self))
        .route("/search", get(search))
        .route("/content/items/{id}", get(item))
        .route("/content/items/{id}/data", get(data))
        .route("/content/items/{id}/resources", get(resources))
        .route("/content/items/{id}/resources/{*path}", get(resource))
        .route(
            "/content/items/{id}/info/metadata/metadata.xml",
            get(metadata),
        )
        .route("/content/items/{id}/relatedItems", get(related))
        .route("/content/users/{u}", get(user_content))
        .route("/content/users/{u}/items/{id}", get(user_item))
        .route("/community/groups/{id}/users", get(group_members))
        .route("/community/createGroup", post(create_group))
        .route("/content/users/{u}/addItem", post(add_item))
        .route("/content/users/{u}/items/{id}/addPart", post(add_part))
        .route("/content/users/{u}/items/{id}/commit", post(commit))
        .route("/content/users/{u}/items/{id}/status", get(status))
        .route("/content/users/{u}/items/{id}/share", post(share))
        .route("/content/users/{u}/createFolder", post(create_folder))
        .route("/content/users/{u}/export", post(export))
        .route("/flaky", get(flaky))
        .route("/limited", get(limited))
        .route("/html", get(html))
        .route("/stall", get(stall))
        .route("/forbidden", get(forbidden))
        .route("/slow", get(slow));
    let app = Router::new()
        .nest("/org/sharing/rest", rest)
        .route("/blob/{id}", get(blob))
        .route(
            "/org/server/rest/services/Hosted/Hydrants/FeatureServer/0/query",
            get(layer_query),
        )
        // Portals accept upload parts of many megabytes; axum's default body limit is 2 MB.
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/org"), state)
}
