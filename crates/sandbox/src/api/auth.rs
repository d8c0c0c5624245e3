//! Tokens: `generateToken`, and resolving a token to its user.

use axum::response::Response;
use serde_json::json;

use super::{Call, error};
use crate::Shared;
use crate::store::User;

/// `generateToken`: username and password (form) for a token valid `expiration` minutes (capped
/// by the sandbox's token lifetime).
pub(super) fn generate_token(call: &Call) -> Result<Response, Response> {
    if let Some(server) = call.params.get("serverUrl")
        && call.params.get("username").is_none()
    {
        return server_token(call, server);
    }
    let (Some(username), Some(password)) =
        (call.params.get("username"), call.params.get("password"))
    else {
        return Err(error(
            400,
            "Unable to generate token.",
            &[
                "'username' must be specified.",
                "'password' must be specified.",
            ],
        ));
    };
    let store = &call.shared.store;
    let Some(user) = store
        .check_password(&call.org, username, password)
        .map_err(internal)?
    else {
        return Err(error(
            400,
            "Unable to generate token.",
            &["Invalid username or password."],
        ));
    };
    if user.disabled {
        return Err(error(
            400,
            "Unable to generate token.",
            &["This account has been disabled."],
        ));
    }
    answer_token(call, &user.username, false)
}

/// A token for `username` valid `expiration` minutes (default 60, at most two weeks), answered as
/// `generateToken` answers.
fn answer_token(call: &Call, username: &str, ssl: bool) -> Result<Response, Response> {
    let minutes: i64 = call
        .params
        .get("expiration")
        .and_then(|e| e.parse().ok())
        .unwrap_or(60)
        .clamp(1, 20_160);
    let issued = issue_token(call, username, minutes * 60_000)?;
    Ok(call.reply(&json!({"token": issued.token, "expires": issued.expires, "ssl": ssl})))
}

/// `generateToken` with `token` and `serverUrl`: a token for the organization's hosted server,
/// for the signed-in user, as a portal exchanges its token for a federated server's. The server
/// must be this organization's (`…/<org>/server`).
fn server_token(call: &Call, server: &str) -> Result<Response, Response> {
    let user = call.require_user()?;
    let own = format!("{}/server", call.rest.trim_end_matches("/sharing/rest"));
    let host = |u: &str| {
        u.split_once("://")
            .map_or(u, |(_, rest)| rest)
            .to_ascii_lowercase()
    };
    if !host(server).starts_with(&host(&own)) {
        return Err(error(
            400,
            "Unable to generate token.",
            &[&format!(
                "'{server}' is not a server of this portal ({own})."
            )],
        ));
    }
    answer_token(call, &user.username, call.shared.scheme == "https")
}

/// `GET /<org>/server/rest/info`: the hosted server's description, naming the portal that owns
/// it (`owningSystemUrl`) and where its tokens come from, as a federated server answers.
pub(super) fn server_info(call: &Call) -> Response {
    let portal = call.rest.trim_end_matches("/sharing/rest");
    call.reply(&json!({
        "currentVersion": super::layers::SERVER_VERSION, "fullVersion": "11.3.0",
        "owningSystemUrl": portal, "owningTenant": call.org_id,
        "authInfo": {
            "isTokenBasedSecurity": true,
            "tokenServicesUrl": format!("{}/generateToken", call.rest),
            "shortLivedTokenValidity": 60,
        },
    }))
}

/// A token just issued.
pub(super) struct Issued {
    pub token: String,
    /// Epoch ms.
    pub expires: i64,
    /// The lifetime granted, after the sandbox's cap.
    pub lifetime_ms: i64,
}

/// A new token for `username` in the caller's organization, valid `lifetime_ms` (capped by the
/// sandbox's token lifetime).
pub(super) fn issue_token(
    call: &Call,
    username: &str,
    lifetime_ms: i64,
) -> Result<Issued, Response> {
    let lifetime_ms = lifetime_ms.min(call.shared.token_lifetime_ms);
    let expires = crate::now_ms() + lifetime_ms;
    let token = crate::new_token();
    call.shared
        .store
        .add_token(&token, &call.org, username, expires)
        .map_err(internal)?;
    Ok(Issued {
        token,
        expires,
        lifetime_ms,
    })
}

/// The user a token belongs to in `org`; 498 when it is unknown, expired or another org's.
pub(super) fn user_for_token(shared: &Shared, org: &str, token: &str) -> Result<User, Response> {
    let found = shared.store.token(token).map_err(internal)?;
    let Some((token_org, username, expires)) = found else {
        return Err(error(498, "Invalid token.", &[]));
    };
    if token_org != org || expires <= crate::now_ms() {
        return Err(error(498, "Invalid token.", &[]));
    }
    shared
        .store
        .user(org, &username)
        .map_err(internal)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| error(498, "Invalid token.", &[]))
}

/// A database failure as the portal's generic error (taken by value to serve `map_err`).
#[allow(clippy::needless_pass_by_value)]
pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    error(500, "Unable to complete operation.", &[&e.to_string()])
}
