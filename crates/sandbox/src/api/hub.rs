//! What ArcGIS Hub uses beside the portal to put a site on the web (spec/portal-api.md, "Hub
//! sites"): `oauth2/registerApp`, which registers a site item as an application (its
//! `client_id` the site's `clientId`), and Hub's domain service, `<hub>/api/v3/domains`, the
//! registry of site hostnames shared by every ArcGIS Online organization of an environment. The
//! sandbox serves the domain service at `/hub/api/v3/domains` (one registry for all its
//! organizations); requests carry a token of the organization in an `Authorization` header, as
//! Esri's hub.js sends it, and its errors are `{"error": {"title", "detail"}}` with the HTTP
//! status.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

use super::auth::internal;
use super::{Call, FORBIDDEN, NOT_FOUND, error};
use crate::Shared;

/// `POST oauth2/registerApp`: `itemId` (an item the caller owns, or any as administrator, whose
/// type is an application's), `appType` (`browser`, `native`, `server`, `multiple`),
/// `redirect_uris` (a JSON array). An item is registered once.
pub(super) fn register_app(call: &Call) -> Result<Response, Response> {
    const TAKES: &[&str] = &["f", "token", "itemId", "appType", "redirect_uris"];
    let user = call.require_user()?;
    if let Some(k) = call
        .params
        .fields
        .keys()
        .find(|k| !TAKES.contains(&k.as_str()))
    {
        return Err(error(
            400,
            &format!("'{k}' is not supported by the sandbox's registerApp."),
            &["itemId, appType and redirect_uris are."],
        ));
    }
    let (Some(item_id), Some(app_type)) = (call.params.get("itemId"), call.params.get("appType"))
    else {
        return Err(error(400, "'itemId' and 'appType' must be specified.", &[]));
    };
    if !matches!(app_type, "browser" | "native" | "server" | "multiple") {
        return Err(error(400, &format!("Invalid appType '{app_type}'."), &[]));
    }
    let uris: Vec<String> = match call.params.get("redirect_uris") {
        Some(u) => serde_json::from_str(u)
            .map_err(|_| error(400, "'redirect_uris' must be a JSON array of URIs.", &[]))?,
        None => Vec::new(),
    };
    let store = &call.shared.store;
    let Some(item) = store.item(&call.org, item_id).map_err(internal)? else {
        return Err(error(400, NOT_FOUND, &[]));
    };
    if item.owner != user.username && !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    let kind = item.json["type"].as_str().unwrap_or_default();
    if !kind.contains("Application") {
        return Err(error(
            400,
            &format!("Only application items can be registered: '{item_id}' is a {kind}."),
            &[],
        ));
    }
    let now = crate::now_ms();
    let client_id = crate::new_id()[..16].to_owned();
    let app = json!({
        "itemId": item_id, "client_id": client_id, "client_secret": crate::new_id(),
        "appType": app_type, "redirect_uris": uris, "registered": now, "modified": now,
        "httpReferrers": [], "privileges": [], "apnsProdCert": null, "apnsSandboxCert": null,
        "gcmApiKey": null, "isBeta": false,
    });
    if !store
        .register_app(item_id, &client_id, &app)
        .map_err(internal)?
    {
        return Err(error(
            400,
            &format!("Item '{item_id}' is registered already as an application."),
            &[],
        ));
    }
    Ok(call.reply(&app))
}

/// `GET content/users/<u>/items/<id>/registeredAppInfo`: the item's application registration
/// (its owner's or an administrator's to read).
pub(super) fn registered_app_info(
    call: &Call,
    owner: &str,
    id: &str,
) -> Result<Response, Response> {
    super::content::owner_or_admin(call, owner)?;
    let store = &call.shared.store;
    match store.item(&call.org, id).map_err(internal)? {
        Some(item) if item.owner == owner => {}
        _ => return Err(error(400, NOT_FOUND, &[])),
    }
    match store.app_of(id).map_err(internal)? {
        Some(mut app) => {
            // The secret is shown when the application is registered, not afterwards.
            if let Some(o) = app.as_object_mut() {
                o.remove("client_secret");
            }
            Ok(call.reply(&app))
        }
        None => Err(error(
            400,
            &format!("Item '{id}' is not registered as an application."),
            &[],
        )),
    }
}

/// An error of the domain service.
fn fail(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"title": title, "detail": detail}})),
    )
        .into_response()
}

/// The keys a domain entry must give (strings), and those it may give besides.
const REQUIRED: &[&str] = &[
    "hostname",
    "siteId",
    "siteTitle",
    "orgId",
    "orgKey",
    "orgTitle",
    "clientKey",
];
const OPTIONAL: &[&str] = &["sslOnly", "permanentRedirect"];

/// The caller: the organization (key, id, name, Enterprise or not) and user of the token in the
/// `Authorization` header.
fn caller(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<(String, String, bool, String), Response> {
    let unauthorized = || {
        fail(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "A valid token is required.",
        )
    };
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim_start_matches("Bearer ").trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?;
    let (org, username, expires) = shared
        .store
        .token(token)
        .map_err(internal)?
        .ok_or_else(unauthorized)?;
    if expires < crate::now_ms() {
        return Err(unauthorized());
    }
    let (org_id, _, is_portal) = shared
        .store
        .org(&org)
        .map_err(internal)?
        .ok_or_else(unauthorized)?;
    Ok((org, org_id, is_portal, username))
}

type Query = axum::extract::Query<std::collections::BTreeMap<String, String>>;

/// `/hub/api/v3/domains`.
pub(crate) async fn domains_root(
    state: State<Arc<Shared>>,
    method: Method,
    query: Query,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    domains(state, method, "", &query, &headers, &body)
}

/// `/hub/api/v3/domains/<hostname or id>`.
pub(crate) async fn domains_at(
    state: State<Arc<Shared>>,
    method: Method,
    Path(rest): Path<String>,
    query: Query,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    domains(state, method, &rest, &query, &headers, &body)
}

/// `/hub/api/v3/domains[/<hostname or id>]`: `GET ?siteId=` the entries of a site, `GET
/// /<hostname>` one entry (404 when none), `POST` a new entry (JSON), `DELETE /<id>`.
fn domains(
    State(shared): State<Arc<Shared>>,
    method: Method,
    rest: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let store = &shared.store;
    match (method, rest) {
        (Method::GET, "") => {
            if let Some(k) = query.keys().find(|k| k.as_str() != "siteId") {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    &format!("'{k}' is not a filter of the sandbox's domain service (siteId is)."),
                );
            }
            let Some(site) = query.get("siteId") else {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    "siteId is required.",
                );
            };
            match store.hub_domains_of_site(site) {
                Ok(list) => axum::Json(Value::Array(list)).into_response(),
                Err(e) => internal(e),
            }
        }
        (Method::GET, hostname) => match store.hub_domain(&hostname.to_ascii_lowercase()) {
            Ok(Some(entry)) => axum::Json(entry).into_response(),
            Ok(None) => fail(
                StatusCode::NOT_FOUND,
                "Not Found",
                &format!("Domain {hostname} not found."),
            ),
            Err(e) => internal(e),
        },
        (Method::POST, "") => add(&shared, headers, body).unwrap_or_else(|r| r),
        (Method::DELETE, id) => {
            let (_, org_id, _, _) = match caller(&shared, headers) {
                Ok(c) => c,
                Err(r) => return r,
            };
            let Ok(id) = id.parse::<i64>() else {
                return fail(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    &format!("Domain entry {id} not found."),
                );
            };
            match store.hub_domain_org(id) {
                Ok(Some(owner)) if owner == org_id => match store.delete_hub_domain(id) {
                    Ok(_) => axum::Json(json!({"success": true})).into_response(),
                    Err(e) => internal(e),
                },
                Ok(Some(_)) => fail(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "The domain entry is another organization's.",
                ),
                Ok(None) => fail(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    &format!("Domain entry {id} not found."),
                ),
                Err(e) => internal(e),
            }
        }
        _ => fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "GET, POST or DELETE.",
        ),
    }
}

/// `POST`: an entry for a site of the caller's ArcGIS Online organization, its `clientKey` the
/// site's registered application, its hostname free.
fn add(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, Response> {
    let (org, org_id, is_portal, username) = caller(shared, headers)?;
    let bad = |detail: &str| fail(StatusCode::BAD_REQUEST, "Bad Request", detail);
    if is_portal {
        return Err(bad(
            "ArcGIS Enterprise sites have no domain entries: their subdomain is their hubsubdomain typeKeyword.",
        ));
    }
    let entry: Value =
        serde_json::from_slice(body).map_err(|_| bad("The body must be a JSON domain entry."))?;
    let Some(fields) = entry.as_object() else {
        return Err(bad("The body must be a JSON domain entry."));
    };
    if let Some(k) = fields
        .keys()
        .find(|k| !REQUIRED.contains(&k.as_str()) && !OPTIONAL.contains(&k.as_str()))
    {
        return Err(bad(&format!("'{k}' is not a field of a domain entry.")));
    }
    for &k in REQUIRED {
        if !fields.get(k).is_some_and(Value::is_string) {
            return Err(bad(&format!("'{k}' is required.")));
        }
    }
    let text = |k: &str| entry[k].as_str().unwrap_or_default();
    let hostname = text("hostname");
    let valid = !hostname.is_empty()
        && hostname.len() <= 253
        && hostname.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !valid {
        return Err(bad(&format!(
            "'{hostname}' is not a valid lowercase hostname."
        )));
    }
    if text("orgId") != org_id || text("orgKey") != org {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "orgId and orgKey must be the caller's organization's.",
        ));
    }
    let site = shared.store.item(&org, text("siteId")).map_err(internal)?;
    let Some(site) = site.filter(|s| {
        matches!(
            s.json["type"].as_str(),
            Some("Hub Site Application" | "Site Application")
        )
    }) else {
        return Err(bad(&format!(
            "'{}' is not a site of the organization.",
            text("siteId")
        )));
    };
    let user = shared.store.user(&org, &username).map_err(internal)?;
    let admin = user.as_ref().is_some_and(|u| u.role == "org_admin");
    if site.owner != username && !admin {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Only the site's owner or an administrator can add its domains.",
        ));
    }
    let app = shared.store.app_of(text("siteId")).map_err(internal)?;
    if app.as_ref().and_then(|a| a["client_id"].as_str()) != Some(text("clientKey")) {
        return Err(bad(
            "clientKey must be the client_id the site is registered under (oauth2/registerApp).",
        ));
    }
    let mut made = entry.clone();
    let now = crate::now_ms();
    made["createdAt"] = json!(now);
    made["updatedAt"] = json!(now);
    match shared.store.add_hub_domain(&made).map_err(internal)? {
        Some(stored) => Ok(axum::Json(stored).into_response()),
        None => Err(fail(
            StatusCode::CONFLICT,
            "Conflict",
            &format!("Hostname {hostname} is in use."),
        )),
    }
}
