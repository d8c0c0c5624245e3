//! Tokens: `generateToken`, and resolving a token to its user.

use axum::response::Response;
use serde_json::json;

use super::{Call, error};
use crate::Shared;
use crate::store::User;

/// `generateToken`: username and password (form) for a token valid `expiration` minutes (capped
/// by the sandbox's token lifetime).
pub(super) fn generate_token(call: &Call) -> Result<Response, Response> {
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
    let minutes: i64 = call
        .params
        .get("expiration")
        .and_then(|e| e.parse().ok())
        .unwrap_or(60)
        .clamp(1, 20_160);
    let issued = issue_token(call, &user.username, minutes * 60_000)?;
    Ok(call.reply(&json!({"token": issued.token, "expires": issued.expires, "ssl": false})))
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
        .ok_or_else(|| error(498, "Invalid token.", &[]))
}

/// A database failure as the portal's generic error (taken by value to serve `map_err`).
#[allow(clippy::needless_pass_by_value)]
pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    error(500, "Unable to complete operation.", &[&e.to_string()])
}
