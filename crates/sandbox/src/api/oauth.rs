//! OAuth 2.0 as ArcGIS portals serve it.
//!
//! - `oauth2/authorize` answers the sign-in page carrying `oauth_state`, for `response_type=token`
//!   (the implicit flow the official ArcGIS API for Python uses by default) and
//!   `response_type=code` (the authorization-code flow, with PKCE when `code_challenge` is sent).
//! - `POST /sharing/oauth2/signin` checks the user and answers 302 to the redirect URI: the token
//!   in the fragment (`#access_token=…`), or the code in the query (`?code=…&state=…`).
//! - `oauth2/token` serves the grants `authorization_code` (→ access and refresh token),
//!   `refresh_token` (→ access token), `exchange_refresh_token` (→ a new refresh token) and
//!   `password`. Refresh tokens live two weeks, in the database, so they survive restarts; codes
//!   live ten minutes and are good once.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{internal, issue_token};
use super::{Call, error};

/// A refresh token's life, as on ArcGIS Online (two weeks).
const REFRESH_LIFETIME_MS: i64 = 14 * 24 * 3_600_000;
/// An authorization code's life.
const CODE_LIFETIME_MS: i64 = 10 * 60_000;

/// A sign-in started by `authorize`, waiting for the form.
#[derive(Clone)]
struct Authorization {
    code_flow: bool,
    client_id: String,
    redirect: String,
    state: String,
    minutes: i64,
    /// (method, challenge): `S256` or `plain`.
    challenge: Option<(String, String)>,
}

/// Sign-ins waiting for the form (by `oauth_state`) and codes waiting for their exchange.
#[derive(Default)]
pub(crate) struct Pending {
    states: Mutex<HashMap<String, Authorization>>,
    /// code → (org, username, the authorization, expires at).
    codes: Mutex<HashMap<String, (String, String, Authorization, i64)>>,
}

/// `oauth2/authorize?response_type=token|code&client_id=…&redirect_uri=…&state=…&expiration=…`
/// (`code_challenge`, `code_challenge_method` with `code`).
pub(super) fn authorize(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    let code_flow = match p.get("response_type") {
        Some("token") => false,
        Some("code") => true,
        _ => {
            return Err(error(
                400,
                "Invalid request: response_type must be token or code.",
                &[],
            ));
        }
    };
    let Some(client_id) = p.get("client_id") else {
        return Err(error(400, "Invalid client_id", &[]));
    };
    let Some(redirect) = p.get("redirect_uri") else {
        return Err(error(400, "Invalid redirect_uri", &[]));
    };
    let challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (Some(c), Some(m @ ("S256" | "plain"))) => Some((m.to_owned(), c.to_owned())),
        (Some(c), None) => Some(("plain".to_owned(), c.to_owned())),
        (Some(_), Some(_)) => {
            return Err(error(400, "Invalid code_challenge_method", &[]));
        }
        (None, _) => None,
    };
    let minutes: i64 = p
        .get("expiration")
        .and_then(|e| e.parse().ok())
        .unwrap_or(120);
    let oauth_state = crate::new_token();
    call.shared.oauth.states.lock().expect("oauth lock").insert(
        oauth_state.clone(),
        Authorization {
            code_flow,
            client_id: client_id.to_owned(),
            redirect: redirect.to_owned(),
            state: p.get("state").unwrap_or_default().to_owned(),
            minutes,
            challenge,
        },
    );
    let info = json!({"oauth_state": oauth_state, "client_id": client_id, "locale": "en"});
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>\n<script>var oAuthInfo = {info};</script>\n\
         <form method=\"post\" action=\"../../oauth2/signin\"><input name=\"username\"><input name=\"password\" type=\"password\">\
         <input type=\"hidden\" name=\"oauth_state\" value=\"{oauth_state}\"></form>\n</body></html>\n"
    );
    Ok(([("content-type", "text/html; charset=utf-8")], page).into_response())
}

fn page_error(text: &str) -> Response {
    (
        [("content-type", "text/html")],
        format!("<html><body>{text}</body></html>"),
    )
        .into_response()
}

/// `POST /<org>/sharing/oauth2/signin`: `username`, `password`, `oauth_state` → 302 to the
/// redirect URI with `#access_token=…&expires_in=…&username=…&state=…` (implicit flow) or
/// `?code=…&state=…` (code flow).
pub(super) fn signin(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    let pending = p.get("oauth_state").and_then(|s| {
        call.shared
            .oauth
            .states
            .lock()
            .expect("oauth lock")
            .remove(s)
    });
    let Some(auth) = pending else {
        return Err(page_error("OAUTH_0007 Invalid oauth_state"));
    };
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return Err(page_error("OAUTH_0015 Invalid username or password."));
    };
    let Some(user) = call
        .shared
        .store
        .check_password(&call.org, username, password)
        .map_err(internal)?
        .filter(|u| !u.disabled)
    else {
        return Err(page_error("OAUTH_0015 Invalid username or password."));
    };
    let location = if auth.code_flow {
        let code = crate::new_token();
        let separator = if auth.redirect.contains('?') {
            '&'
        } else {
            '?'
        };
        let location = format!(
            "{}{separator}code={code}&state={}",
            auth.redirect,
            encode(&auth.state)
        );
        call.shared.oauth.codes.lock().expect("oauth lock").insert(
            code,
            (
                call.org.clone(),
                user.username,
                auth,
                crate::now_ms() + CODE_LIFETIME_MS,
            ),
        );
        location
    } else {
        let issued = issue_token(call, &user.username, auth.minutes.clamp(1, 20_160) * 60_000)?;
        format!(
            "{}#access_token={}&expires_in={}&username={}&ssl=false&state={}",
            auth.redirect,
            issued.token,
            issued.lifetime_ms / 1000,
            user.username,
            auth.state
        )
    };
    Ok((axum::http::StatusCode::FOUND, [("location", location)]).into_response())
}

/// `oauth2/token`: the grants `authorization_code`, `refresh_token`, `exchange_refresh_token`
/// and `password`.
pub(super) fn token(call: &Call) -> Result<Response, Response> {
    match call.params.get("grant_type") {
        Some("password") => password_grant(call),
        Some("authorization_code") => code_grant(call),
        Some("refresh_token") => refresh_grant(call, false),
        Some("exchange_refresh_token") => refresh_grant(call, true),
        _ => Err(error(
            400,
            "Unsupported grant_type.",
            &[
                "The sandbox serves authorization_code, refresh_token, exchange_refresh_token and password.",
            ],
        )),
    }
}

fn password_grant(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return Err(error(400, "Invalid username or password.", &[]));
    };
    let Some(user) = call
        .shared
        .store
        .check_password(&call.org, username, password)
        .map_err(internal)?
        .filter(|u| !u.disabled)
    else {
        return Err(error(400, "Invalid username or password.", &[]));
    };
    let issued = issue_token(call, &user.username, 7_200_000)?;
    Ok(call.reply(&json!({"access_token": issued.token, "expires_in": issued.lifetime_ms / 1000, "username": user.username})))
}

/// `code`, `client_id`, `redirect_uri` (as authorized) and `code_verifier` (when a challenge was
/// sent) → `{access_token, expires_in, username, refresh_token, refresh_token_expires_in}`.
fn code_grant(call: &Call) -> Result<Response, Response> {
    let p = &call.params;
    let invalid = || error(400, "Invalid authorization code", &[]);
    let found = p.get("code").and_then(|c| {
        call.shared
            .oauth
            .codes
            .lock()
            .expect("oauth lock")
            .remove(c)
    });
    let Some((org, username, auth, expires)) = found else {
        return Err(invalid());
    };
    if org != call.org || expires <= crate::now_ms() {
        return Err(invalid());
    }
    if p.get("client_id") != Some(auth.client_id.as_str()) {
        return Err(error(400, "Invalid client_id", &[]));
    }
    if p.get("redirect_uri") != Some(auth.redirect.as_str()) {
        return Err(error(400, "Invalid redirect_uri", &[]));
    }
    if let Some((method, challenge)) = &auth.challenge {
        let Some(verifier) = p.get("code_verifier") else {
            return Err(error(400, "Invalid code_verifier", &[]));
        };
        let computed = if method == "S256" {
            use base64::Engine as _;
            use sha2::Digest as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()))
        } else {
            verifier.to_owned()
        };
        if &computed != challenge {
            return Err(error(400, "Invalid code_verifier", &[]));
        }
    }
    let issued = issue_token(call, &username, auth.minutes.clamp(1, 20_160) * 60_000)?;
    let refresh = crate::new_token();
    call.shared
        .store
        .add_refresh_token(
            &refresh,
            &call.org,
            &username,
            &auth.client_id,
            crate::now_ms() + REFRESH_LIFETIME_MS,
        )
        .map_err(internal)?;
    Ok(call.reply(&json!({
        "access_token": issued.token, "expires_in": issued.lifetime_ms / 1000, "username": username,
        "ssl": false, "refresh_token": refresh, "refresh_token_expires_in": REFRESH_LIFETIME_MS / 1000,
    })))
}

/// `client_id` and `refresh_token` → an access token; with `exchange`, a new refresh token
/// instead (the old one stays good until it expires, as on the portal).
fn refresh_grant(call: &Call, exchange: bool) -> Result<Response, Response> {
    let p = &call.params;
    // The portal's answer for a refresh token it will not take (arcgis-rest-js test mocks).
    let refused = || {
        call.reply(&json!({"error": {
            "code": 498, "error": "invalid_request", "error_description": "refresh_token expired",
            "message": "refresh_token expired", "details": [],
        }}))
    };
    let (Some(client_id), Some(token)) = (p.get("client_id"), p.get("refresh_token")) else {
        return Err(error(
            400,
            "Invalid request: client_id and refresh_token are required.",
            &[],
        ));
    };
    let Some((org, username, owner_client, expires)) =
        call.shared.store.refresh_token(token).map_err(internal)?
    else {
        return Err(refused());
    };
    if org != call.org || expires <= crate::now_ms() {
        return Err(refused());
    }
    if owner_client != client_id {
        return Err(error(400, "Invalid client_id", &[]));
    }
    if call
        .shared
        .store
        .user(&call.org, &username)
        .map_err(internal)?
        .is_none()
    {
        return Err(refused());
    }
    if exchange {
        let refresh = crate::new_token();
        call.shared
            .store
            .add_refresh_token(
                &refresh,
                &call.org,
                &username,
                client_id,
                crate::now_ms() + REFRESH_LIFETIME_MS,
            )
            .map_err(internal)?;
        return Ok(call.reply(&json!({
            "username": username, "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_LIFETIME_MS / 1000,
        })));
    }
    let minutes: i64 = p
        .get("expiration")
        .and_then(|e| e.parse().ok())
        .unwrap_or(120);
    let issued = issue_token(call, &username, minutes.clamp(1, 20_160) * 60_000)?;
    Ok(call.reply(&json!({
        "access_token": issued.token, "expires_in": issued.lifetime_ms / 1000,
        "username": username, "ssl": false,
    })))
}

/// Percent-encode a value for a URL query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
