//! The HTTP API: one router for every organization, each under `/<org>/sharing/rest`
//! (spec/portal-api.md). Errors are answered as the portal does: HTTP 200 with
//! `{"error": {"code", "message", "details"}}`.
//!
//! Handlers return `Result<Response, Response>`: an error is the envelope response itself, sent
//! as it is, so its size is not a cost worth boxing.

#![allow(clippy::result_large_err)]

mod admin;
mod append;
mod attachments;
mod auth;
mod content;
mod edits;
mod export;
mod geometry;
mod groups;
mod hub;
pub(crate) mod jobs;
mod layers;
mod map_areas;
mod members;
pub(crate) mod oauth;
mod packaging;
mod parts;
mod portal;
mod query;
mod recycle;
mod related;
mod roles;
mod scenes;
mod search;
mod services;
mod sharing;
mod sql;
mod statistics;
mod tile_draw;
mod tile_packages;
mod tiles;
mod uploads;
mod users;
mod views;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use crate::Shared;
use crate::store::{Body, ReadSeek, Spool, User};

/// A file part of a request: its file name and its bytes (spooled to disk when large).
pub(crate) struct Upload {
    pub name: String,
    pub body: Body,
}

/// Everything a request carries: query and body fields merged, and uploaded files.
pub(crate) struct Params {
    pub fields: HashMap<String, String>,
    /// File parts by field name (`file`, `thumbnail`, `metadata`), taken by the handler that
    /// stores them (a spooled file moves into the store instead of being copied).
    files: std::sync::Mutex<HashMap<String, Upload>>,
    pub pretty: bool,
    headers: HeaderMap,
}

impl Params {
    /// Take the file part named `field` (`file`, `thumbnail`, `metadata`).
    pub fn take_file(&self, field: &str) -> Option<Upload> {
        self.files
            .lock()
            .expect("params lock poisoned")
            .remove(field)
    }

    /// A boolean parameter: `true` when given as `true` (any case), `default` when absent.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Read a request's fields; file parts are spooled into `spool` (memory first, then a file).
    async fn read(req: Request, spool: &std::path::Path) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let mut fields: HashMap<String, String> = req
            .uri()
            .query()
            .map(serde_urlencoded_pairs)
            .unwrap_or_default();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut files = HashMap::new();
        if content_type.starts_with("multipart/form-data") {
            let mut m = axum::extract::Multipart::from_request(req, &())
                .await
                .map_err(|e| error(400, &format!("Unable to read the request ({e})."), &[]))?;
            while let Some(field) = m
                .next_field()
                .await
                .map_err(|e| error(400, &format!("Unable to read the request ({e})."), &[]))?
            {
                let name = field.name().unwrap_or_default().to_owned();
                if let Some(file_name) = field.file_name().map(str::to_owned) {
                    let mut field = field;
                    let mut body = Spool::new(spool);
                    while let Some(chunk) = field.chunk().await.map_err(|e| {
                        error(400, &format!("Unable to read the upload ({e})."), &[])
                    })? {
                        body.write(&chunk).await.map_err(|e| {
                            error(500, &format!("Unable to store the upload ({e})."), &[])
                        })?;
                    }
                    let body = body.finish().await.map_err(|e| {
                        error(500, &format!("Unable to store the upload ({e})."), &[])
                    })?;
                    files.insert(
                        name,
                        Upload {
                            name: file_name,
                            body,
                        },
                    );
                } else {
                    let text = field.text().await.map_err(|e| {
                        error(400, &format!("Unable to read the request ({e})."), &[])
                    })?;
                    fields.insert(name, text);
                }
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let body = axum::body::to_bytes(req.into_body(), 64 << 20)
                .await
                .map_err(|_| error(400, "Unable to read the request.", &[]))?;
            fields.extend(serde_urlencoded_pairs(&String::from_utf8_lossy(&body)));
        }
        let pretty = fields.get("f").is_some_and(|f| f == "pjson");
        Ok(Self {
            fields,
            files: std::sync::Mutex::new(files),
            pretty,
            headers,
        })
    }

    /// The token sent as `token`, `X-Esri-Authorization: Bearer …` or `Authorization: Bearer …`.
    pub fn token(&self) -> Option<String> {
        if let Some(t) = self.get("token") {
            return Some(t.to_owned());
        }
        for header in ["x-esri-authorization", "authorization"] {
            if let Some(t) = self
                .headers
                .get(header)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
            {
                return Some(t.trim().to_owned());
            }
        }
        None
    }
}

/// A response body read from `reader` in 256 KiB chunks as the client takes them: a download
/// costs one chunk of memory whatever its size.
pub(crate) fn stream_body(reader: Box<dyn ReadSeek + Send>) -> axum::body::Body {
    let chunks = futures_util::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 256 << 10];
            let n = std::io::Read::read(&mut reader, &mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, reader))
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match read {
            Ok((buf, _)) if buf.is_empty() => None,
            Ok((buf, reader)) => Some((Ok(axum::body::Bytes::from(buf)), Some(reader))),
            Err(e) => Some((Err(e), None)),
        }
    });
    axum::body::Body::from_stream(chunks)
}

fn serde_urlencoded_pairs(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON answer, pretty for `f=pjson`.
pub(crate) fn reply(params: &Params, value: &Value) -> Response {
    let body = if params.pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .unwrap_or_default();
    ([("content-type", "application/json; charset=utf-8")], body).into_response()
}

/// The portal's error envelope, with HTTP 200 as the portal answers.
pub(crate) fn error(code: i64, message: &str, details: &[&str]) -> Response {
    let body = json!({"error": {"code": code, "message": message, "details": details}});
    (
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) const NOT_FOUND: &str = "Item does not exist or is inaccessible.";
pub(crate) const FORBIDDEN: &str =
    "You do not have permissions to access this resource or perform this operation.";

/// A request in one organization, with its caller (when signed in).
pub(crate) struct Call {
    pub shared: Arc<Shared>,
    pub org: String,
    pub org_id: String,
    pub org_name: String,
    pub is_portal: bool,
    pub params: Params,
    pub user: Option<User>,
    /// The REST root URL of this organization, as the client reached it.
    pub rest: String,
}

impl Call {
    /// The caller, or the error the portal gives without a valid token (499 missing, 498 invalid or expired).
    pub fn require_user(&self) -> Result<&User, Response> {
        match (&self.user, self.params.token()) {
            (Some(u), _) => Ok(u),
            (None, None) => Err(error(499, "Token Required.", &[])),
            (None, Some(_)) => Err(error(498, "Invalid token.", &[])),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == "org_admin")
    }

    pub fn reply(&self, value: &Value) -> Response {
        reply(&self.params, value)
    }
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    Path((org, rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    handle(shared, org, &rest, req, false).await
}

/// `/<org>/server/rest/services/…`: hosted services, with the same tokens as the portal.
async fn dispatch_services(
    State(shared): State<Arc<Shared>>,
    Path((org, rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    handle(shared, org, &rest, req, true).await
}

/// `/<org>/server/rest/admin/services/…`: the services' admin side, served as `admin/…`.
async fn dispatch_admin(
    State(shared): State<Arc<Shared>>,
    Path((org, rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    handle(shared, org, &format!("admin/{rest}"), req, true).await
}

/// `/<org>/server/rest/info`: the hosted server's description, served as `server-info`.
async fn dispatch_server_info(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    req: Request,
) -> Response {
    handle(shared, org, "server-info", req, true).await
}

async fn handle(
    shared: Arc<Shared>,
    org: String,
    rest: &str,
    req: Request,
    services: bool,
) -> Response {
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    *shared
        .endpoints
        .lock()
        .expect("endpoint counters")
        .entry(endpoint(rest, services))
        .or_default() += 1;
    if let Some(injected) = shared.faults.before().await {
        return injected;
    }
    let method = req.method().clone();
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let params = match Params::read(req, shared.store.blobs().spool_dir()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let item_param = params
        .get("itemId")
        .or(params.get("itemid"))
        .or(params.get("itemID"));
    if let Some(injected) = shared.faults.targeted(rest, item_param) {
        return injected;
    }
    let Ok(Some((org_id, org_name, is_portal))) = shared.store.org(&org) else {
        return error(400, "Invalid URL", &[]);
    };
    // An invalid or expired token is answered 498 even where anonymous access would be allowed.
    let user = match params.token() {
        Some(token) if shared.faults.expire_token(&token) => {
            if let Err(e) = shared.store.expire_token(&token) {
                return auth::internal(e);
            }
            return error(498, "Invalid token.", &[]);
        }
        Some(token) => match auth::user_for_token(&shared, &org, &token) {
            Ok(u) => Some(u),
            Err(r) => return r,
        },
        None => None,
    };
    let rest_url = format!("{}://{host}/{org}/sharing/rest", shared.scheme);
    let call = Call {
        shared,
        org,
        org_id,
        org_name,
        is_portal,
        params,
        user,
        rest: rest_url,
    };
    let segments: Vec<&str> = rest
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if services {
        let post = method == axum::http::Method::POST;
        return match segments.as_slice() {
            ["server-info"] => Ok(auth::server_info(&call)),
            ["Hosted", name, "FeatureServer", rest @ ..] => {
                services::feature_server(&call, name, rest, post)
            }
            [
                "Hosted",
                name,
                kind @ ("MapServer" | "VectorTileServer"),
                rest @ ..,
            ] => tiles::tile_server(&call, name, kind, rest),
            ["Hosted", name, "SceneServer", rest @ ..] => scenes::scene_server(&call, name, rest),
            ["System", "OfflinePackaging", "GPServer", rest @ ..] => {
                packaging::gp_server(&call, rest, post)
            }
            ["admin", "Hosted", name, "FeatureServer"] => admin::admin_service(&call, name, None),
            ["admin", "Hosted", _, "FeatureServer", "refresh"]
            | ["admin", "Hosted", _, "FeatureServer", _, "refresh"] => {
                Ok(call.reply(&serde_json::json!({"success": true})))
            }
            ["admin", "Hosted", name, "FeatureServer", "addToDefinition"] if post => {
                admin::add_to_definition(&call, name)
            }
            ["admin", "Hosted", name, "FeatureServer", "updateDefinition"] if post => {
                admin::update_definition(&call, name)
            }
            [
                "admin",
                "Hosted",
                name,
                "FeatureServer",
                "deleteFromDefinition",
            ] if post => admin::delete_from_definition(&call, name),
            ["admin", "Hosted", name, "FeatureServer", layer, operation] if post => {
                match *operation {
                    "truncate" => append::truncate(&call, name, layer),
                    "addToDefinition" => admin::add_to_layer(&call, name, layer),
                    "updateDefinition" => admin::update_layer(&call, name, layer),
                    "deleteFromDefinition" => admin::delete_from_layer(&call, name, layer),
                    _ => Err(error(400, "Invalid URL", &[])),
                }
            }
            // The official client reads a layer's admin definition with a POST.
            ["admin", "Hosted", name, "FeatureServer", layer] if layer.parse::<u32>().is_ok() => {
                admin::admin_service(&call, name, Some(layer))
            }
            _ => Err(error(400, "Invalid URL", &[])),
        }
        .unwrap_or_else(|r| r);
    }
    route(&call, &method, &segments).unwrap_or_else(|r| r)
}

/// `/<org>/portaladmin/…` (ArcGIS Enterprise's portal admin API): served as `portaladmin/…`.
async fn dispatch_portaladmin(
    state: State<Arc<Shared>>,
    Path((org, rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    dispatch(state, Path((org, format!("portaladmin/{rest}"))), req).await
}

/// `/<org>/sharing/oauth2/…` (the sign-in form posts outside `/rest`): served as `oauth2/…`.
async fn dispatch_oauth(
    state: State<Arc<Shared>>,
    Path((org, rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    dispatch(state, Path((org, format!("oauth2/{rest}"))), req).await
}

async fn root(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    req: Request,
) -> Response {
    let params = match Params::read(req, shared.store.blobs().spool_dir()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if shared.store.org(&org).ok().flatten().is_none() {
        return error(400, "Invalid URL", &[]);
    }
    reply(&params, &json!({"currentVersion": crate::CURRENT_VERSION}))
}

fn route(call: &Call, method: &axum::http::Method, s: &[&str]) -> Result<Response, Response> {
    let post = *method == axum::http::Method::POST;
    // `portals/<orgId>/…` is `portals/self/…` for this organization's id.
    let own: Vec<&str>;
    let s = match s {
        ["portals", id, rest @ ..] if *id == call.org_id => {
            own = ["portals", "self"]
                .into_iter()
                .chain(rest.iter().copied())
                .collect();
            own.as_slice()
        }
        _ => s,
    };
    match s {
        ["generateToken"] => auth::generate_token(call),
        ["info"] => Ok(call.reply(&serde_json::json!({
            "owningSystemUrl": call.rest.trim_end_matches("/sharing/rest"),
            "authInfo": {"isTokenBasedSecurity": true, "tokenServicesUrl": format!("{}/generateToken", call.rest)},
        }))),
        ["oauth2", "authorize"] => oauth::authorize(call),
        ["oauth2", "token"] => oauth::token(call),
        ["oauth2", "signin"] if post => oauth::signin(call),
        ["oauth2", "registerApp"] if post => hub::register_app(call),
        ["portals", "self"] => portal::portal_self(call),
        ["portals", "self", "update"] if post => portal::update(call),
        ["portals", "self", "categorySchema"] => portal::category_schema(call),
        ["portals", "self", "assignCategorySchema"] if post => {
            portal::assign_category_schema(call)
        }
        ["portals", "self", "isServiceNameAvailable"] => services::name_available(call),
        ["portals", "self", "users"] | ["portals", "self", "users", "search"] => {
            users::org_users(call)
        }
        ["portals", "self", "invite"] if post => users::invite(call),
        ["portals", "self", "userDefaultSettings"] => users::default_settings(call),
        ["portals", "self", "updateuserrole" | "updateUserRole"] if post => {
            users::update_role(call)
        }
        ["portals", "self", "roles"] => roles::list(call),
        ["portals", "self", "createRole"] if post => roles::create(call),
        ["portals", "self", "roles", id] => roles::get(call, id),
        ["portals", "self", "roles", id, "privileges" | "getPrivileges"] => {
            roles::get_privileges(call, id)
        }
        ["portals", "self", "roles", id, "setPrivileges"] if post => {
            roles::set_privileges(call, id)
        }
        ["portals", "self", "roles", id, "update"] if post => roles::update(call, id),
        ["portals", "self", "roles", id, "delete"] if post => roles::delete(call, id),
        ["portaladmin", "security", "users", "createUser"] if post => users::create_user(call),
        ["community", "self"] => users::community_self(call),
        ["community", "users"] => users::search_community(call),
        ["community", "users", u] => users::community_user(call, u),
        ["community", "users", u, "update"] if post => users::update(call, u),
        ["community", "users", u, "info", file] => users::thumbnail(call, u, file),
        ["community", "users", u, "disable"] if post => users::set_disabled(call, u, true),
        ["community", "users", u, "enable"] if post => users::set_disabled(call, u, false),
        ["community", "users", u, "delete"] if post => users::delete(call, u),
        ["community", "users", u, "reassign"] if post => users::reassign(call, u),
        ["community", "createGroup"] if post => groups::create(call),
        ["community", "groups"] => search::search_groups(call),
        ["community", "groups", id] => groups::get(call, id),
        ["community", "groups", id, "users"] => members::users(call, id),
        ["community", "groups", id, "categorySchema"] => groups::category_schema(call, id),
        ["community", "groups", id, "info", file] => groups::thumbnail(call, id, file),
        ["community", "groups", id, op] if post => match *op {
            "addUsers" => members::add(call, id),
            "removeUsers" => members::remove(call, id),
            "updateUsers" => members::update(call, id),
            "invite" => members::invite(call, id),
            "join" => members::join(call, id),
            "leave" => members::leave(call, id),
            "reassign" => members::reassign(call, id),
            "delete" => groups::delete(call, id),
            "update" => groups::update(call, id),
            "protect" => groups::protect(call, id, true),
            "unprotect" => groups::protect(call, id, false),
            "assignCategorySchema" => groups::assign_category_schema(call, id),
            _ => Err(error(400, "Invalid URL", &[])),
        },
        ["search"] => search::search(call),
        ["content", "items", id] => content::item(call, id),
        ["content", "items", id, "data"] => content::data(call, id),
        ["content", "items", id, "resources"] => parts::list_resources(call, id),
        ["content", "items", id, "resources", path @ ..] => {
            parts::resource(call, id, &path.join("/"))
        }
        ["content", "items", id, "info", path @ ..] => parts::info(call, id, &path.join("/")),
        ["content", "items", id, "relatedItems"] => parts::related_items(call, id),
        ["content", "items", id, "groups"] => parts::item_groups(call, id),
        ["content", "items", id, op @ ("share" | "unshare")] if post => {
            sharing::as_group_member(call, id, op)
        }
        ["content", "groups", id] => parts::group_content(call, id),
        ["content", "users", u, "addRelationship"] if post => parts::add_relationship(call, u),
        ["content", "users", u, "deleteRelationship"] if post => {
            parts::delete_relationship(call, u)
        }
        ["content", "users", u] => content::user_content(call, u, None),
        ["content", "users", u, "publish"] if post => services::publish(call, u, None),
        ["content", "users", u, "createService"] if post => views::create_service(call, u, None),
        ["content", "users", u, "export"] if post => export::export(call, u),
        ["content", "users", u, "createFolder"] if post => content::create_folder(call, u),
        ["content", "users", u, "addItem"] if post => content::add_item(call, u, None),
        ["content", "users", u, op @ ("shareItems" | "unshareItems")] if post => {
            sharing::bulk(call, u, op)
        }
        ["content", "users", u, "items", id] => content::user_item(call, u, id),
        ["content", "users", u, "items", id, "status"] => uploads::status(call, u, id),
        ["content", "users", u, "items", id, "registeredAppInfo"] => {
            hub::registered_app_info(call, u, id)
        }
        ["content", "users", u, "items", id, "parts"] => uploads::parts(call, u, id),
        ["content", "users", u, "items", id, "canRecycle"]
        | ["content", "users", u, _, "items", id, "canRecycle"] => recycle::can_recycle(call, u, id),
        ["content", "users", u, "items", id, "canRestore"]
        | ["content", "users", u, _, "items", id, "canRestore"] => recycle::can_restore(call, u, id),
        ["content", "users", u, "deleteItems"] if post => recycle::delete_items(call, u),
        ["content", "portals", id] if *id == call.org_id => recycle::org_content(call),
        ["content", "users", u, "items", id, op] if post => content::item_op(call, u, id, op),
        ["content", "users", u, folder, "addItem"] if post => {
            content::add_item(call, u, Some(folder))
        }
        ["content", "users", u, folder, "publish"] if post => {
            services::publish(call, u, Some(folder))
        }
        ["content", "users", u, folder, "createService"] if post => {
            views::create_service(call, u, Some(folder))
        }
        ["content", "users", u, folder, "delete"] if post => content::delete_folder(call, u, folder),
        ["content", "users", u, folder, "items", id, op] if post => {
            content::item_op(call, u, id, op)
        }
        ["content", "users", u, folder] => content::user_content(call, u, Some(folder)),
        _ => Err(error(400, "Invalid URL", &[])),
    }
}

/// `GET /_sandbox/stats`: the harness's own counters, outside every portal root (no ArcGIS
/// client asks for it): `{"requests", "endpoints": {endpoint: requests}, "faultsInjected",
/// "tokensExpired"}`, so a benchmark can count what a client run cost a sandbox it runs as a
/// separate process, and where. Not counted itself.
async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let requests = shared.requests.load(std::sync::atomic::Ordering::Relaxed);
    let endpoints = shared.endpoints.lock().expect("endpoint counters").clone();
    let injected = shared.faults.injected();
    axum::Json(json!({
        "requests": requests,
        "endpoints": endpoints,
        "faultsInjected": injected.failed,
        "tokensExpired": injected.expired,
    }))
    .into_response()
}

/// A request's endpoint with what varies made generic: item and group ids `{id}`, usernames
/// `{user}`, numbers `{n}`; a service's folder and name `{service}`.
fn endpoint(rest: &str, services: bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut after_users = false;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let server = segments
        .iter()
        .position(|s| s.ends_with("Server"))
        .filter(|_| services);
    for (i, s) in segments.iter().enumerate() {
        let generic = if server.is_some_and(|at| i < at) {
            if i == 0 { "{service}" } else { continue }
        } else if after_users {
            "{user}"
        } else if s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            "{id}"
        } else if s.chars().all(|c| c.is_ascii_digit()) {
            "{n}"
        } else {
            s
        };
        after_users = *s == "users" && !services;
        out.push(generic);
    }
    let path = out.join("/");
    if services {
        format!("services/{path}")
    } else {
        path
    }
}

/// `POST /_sandbox/faults` with `spec` (form or query; the syntax of `orgpack sandbox --faults`):
/// replaces the fault plan of the running sandbox. Outside every portal root, like the stats.
async fn set_faults(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let params = match Params::read(req, shared.store.blobs().spool_dir()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match params.get("spec").unwrap_or("").parse::<crate::Faults>() {
        Ok(faults) => {
            let shown = format!("{faults:?}");
            shared.faults.set(faults);
            axum::Json(json!({"success": true, "faults": shown})).into_response()
        }
        Err(e) => error(400, &format!("Invalid fault spec: {e}"), &[]),
    }
}

/// The router for every organization of the sandbox.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{org}/sharing/rest", any(root))
        .route("/{org}/sharing/rest/", any(root))
        .route("/{org}/sharing/rest/{*rest}", any(dispatch))
        .route("/{org}/sharing/oauth2/{*rest}", any(dispatch_oauth))
        .route(
            "/{org}/server/rest/services/{*rest}",
            any(dispatch_services),
        )
        .route(
            "/{org}/server/rest/admin/services/{*rest}",
            any(dispatch_admin),
        )
        .route("/{org}/server/rest/info", any(dispatch_server_info))
        .route("/{org}/portaladmin/{*rest}", any(dispatch_portaladmin))
        .route("/", get(|| async { "orgpack sandbox" }))
        .route("/hub/api/v3/domains", any(hub::domains_root))
        .route("/hub/api/v3/domains/{*rest}", any(hub::domains_at))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/faults", axum::routing::post(set_faults))
        .layer(axum::extract::DefaultBodyLimit::max(512 << 20))
        .with_state(shared)
}

#[cfg(test)]
mod endpoint_tests {
    #[test]
    fn endpoints_are_counted_with_what_varies_made_generic() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            super::endpoint(&format!("content/users/editor/items/{id}/update"), false),
            "content/users/{user}/items/{id}/update"
        );
        assert_eq!(
            super::endpoint("community/users/editor", false),
            "community/users/{user}"
        );
        assert_eq!(
            super::endpoint("Hosted/City/FeatureServer/0/query", true),
            "services/{service}/FeatureServer/{n}/query"
        );
        assert_eq!(super::endpoint("search", false), "search");
    }
}
