//! OAuth as the official ArcGIS API for Python signs in by default (implicit flow with the sign-in
//! page): `oauth2/authorize` answers a page carrying `oauth_state`, `POST /sharing/oauth2/signin`
//! answers 302 to the redirect URI with the token in the fragment. `oauth2/token` answers the
//! password grant.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{internal, issue_token};
use super::{Call, error};

/// Pending sign-ins: `oauth_state` → (redirect URI, client state, expiration minutes).
#[derive(Default)]
pub(crate) struct Pending(Mutex<HashMap<String, (String, String, i64)>>);

/// `oauth2/authorize?response_type=token&client_id=…&redirect_uri=…&state=…&expiration=…`.
pub(super) fn authorize(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    if p.get("response_type") != Some("token") || p.get("client_id").is_none() {
        return Err(error(
            400,
            "Invalid request: response_type must be token and client_id given.",
            &[],
        ));
    }
    let Some(redirect) = p.get("redirect_uri") else {
        return Err(error(400, "Invalid redirect_uri", &[]));
    };
    let state = p.get("state").unwrap_or_default().to_owned();
    let minutes: i64 = p
        .get("expiration")
        .and_then(|e| e.parse().ok())
        .unwrap_or(120);
    let oauth_state = crate::new_token();
    call.shared
        .oauth
        .0
        .lock()
        .expect("oauth lock")
        .insert(oauth_state.clone(), (redirect.to_owned(), state, minutes));
    let info = json!({"oauth_state": oauth_state, "client_id": p.get("client_id"), "locale": "en"});
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>\n<script>var oAuthInfo = {info};</script>\n\
         <form method=\"post\" action=\"../../oauth2/signin\"><input name=\"username\"><input name=\"password\" type=\"password\">\
         <input type=\"hidden\" name=\"oauth_state\" value=\"{oauth_state}\"></form>\n</body></html>\n"
    );
    Ok(([("content-type", "text/html; charset=utf-8")], page).into_response())
}

/// `POST /<org>/sharing/oauth2/signin`: `username`, `password`, `oauth_state` → 302 to the
/// redirect URI with `#access_token=…&expires_in=…&username=…&state=…`.
pub(super) fn signin(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    let pending = p
        .get("oauth_state")
        .and_then(|s| call.shared.oauth.0.lock().expect("oauth lock").remove(s));
    let Some((redirect, state, minutes)) = pending else {
        return Err((
            [("content-type", "text/html")],
            "<html><body>OAUTH_0007 Invalid oauth_state</body></html>",
        )
            .into_response());
    };
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return Err((
            [("content-type", "text/html")],
            "<html><body>OAUTH_0015 Invalid username or password.</body></html>",
        )
            .into_response());
    };
    let Some(user) = call
        .shared
        .store
        .check_password(&call.org, username, password)
        .map_err(internal)?
    else {
        return Err((
            [("content-type", "text/html")],
            "<html><body>OAUTH_0015 Invalid username or password.</body></html>",
        )
            .into_response());
    };
    let issued = issue_token(call, &user.username, minutes.clamp(1, 20_160) * 60_000)?;
    let location = format!(
        "{redirect}#access_token={}&expires_in={}&username={}&ssl=false&state={state}",
        issued.token,
        issued.lifetime_ms / 1000,
        user.username
    );
    Ok((axum::http::StatusCode::FOUND, [("location", location)]).into_response())
}

/// `oauth2/token` with `grant_type=password`: `{access_token, expires_in, username}`.
pub(super) fn token(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    if p.get("grant_type") != Some("password") {
        return Err(error(
            400,
            "Unsupported grant_type.",
            &["Only grant_type=password is served by the sandbox."],
        ));
    }
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return Err(error(400, "Invalid username or password.", &[]));
    };
    let Some(user) = call
        .shared
        .store
        .check_password(&call.org, username, password)
        .map_err(internal)?
    else {
        return Err(error(400, "Invalid username or password.", &[]));
    };
    let issued = issue_token(call, &user.username, 7_200_000)?;
    Ok(call.reply(&json!({"access_token": issued.token, "expires_in": issued.lifetime_ms / 1000, "username": user.username})))
}
