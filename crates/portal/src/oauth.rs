//! Signing in through OAuth 2.0's authorization-code flow with PKCE, as the portal serves it for
//! a registered application: the user signs in in a browser (any identity provider the
//! organization uses: SAML, social logins, built-in accounts), the portal redirects to the
//! application with a code, and the code is exchanged for a refresh token. [`Credentials::OAuth`]
//! then signs in with that refresh token, unattended (scheduled backups).
//!
//! [`Credentials::OAuth`]: crate::Credentials::OAuth

use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};
use crate::url::PortalUrl;

/// A PKCE verifier and its S256 challenge (RFC 7636).
pub struct Pkce {
    /// Sent with the code exchange; kept secret until then.
    pub verifier: String,
    /// Sent with the authorization request.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

/// `n` random bytes, base64url without padding.
///
/// # Errors
/// When the system has no randomness to give.
pub fn random_string(n: usize) -> Result<String, Error> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            "oauth2/authorize",
            "",
            ErrorKind::Auth(format!("no system randomness: {e}")),
        )
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh verifier (32 random bytes) and its challenge.
///
/// # Errors
/// When the system has no randomness to give.
pub fn pkce() -> Result<Pkce, Error> {
    let verifier = random_string(32)?;
    let challenge = challenge_of(&verifier);
    Ok(Pkce {
        verifier,
        challenge,
    })
}

/// The S256 challenge of a verifier: base64url (no padding) of its SHA-256.
fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// The page to open in a browser: `oauth2/authorize` for a code, with the PKCE challenge.
#[must_use]
pub fn authorize_url(
    portal: &PortalUrl,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    pkce: &Pkce,
) -> String {
    let query: Vec<String> = [
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect();
    format!("{}/oauth2/authorize?{}", portal.rest(), query.join("&"))
}

/// What the code was exchanged for.
pub struct Granted {
    /// The user who signed in.
    pub username: String,
    /// The refresh token: a secret, never logged.
    pub refresh_token: String,
    /// How long the refresh token lives, when the portal says.
    pub refresh_token_expires_in: Option<u64>,
}

impl std::fmt::Debug for Granted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Granted")
            .field("username", &self.username)
            .field("refresh_token", &"REDACTED")
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .finish()
    }
}

impl Client {
    /// Exchange an authorization code (`oauth2/token`, `grant_type=authorization_code`) for a
    /// refresh token. Call it on a client without credentials.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Auth`] when the answer holds no refresh token.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Granted, Error> {
        let answer = self
            .call(
                "oauth2/token",
                Method::Post,
                "oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier),
                ],
            )
            .await?;
        let text = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_owned);
        let (Some(username), Some(refresh_token)) = (text("username"), text("refresh_token"))
        else {
            return Err(Error::new(
                "oauth2/token",
                &format!("{}/oauth2/token", self.url().rest()),
                ErrorKind::Auth("the portal gave no refresh token".into()),
            ));
        };
        Ok(Granted {
            username,
            refresh_token,
            refresh_token_expires_in: answer
                .get("refresh_token_expires_in")
                .and_then(Value::as_u64),
        })
    }
}

/// Percent-encode a query value.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_verifiers_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = pkce().unwrap();
        assert_eq!(p.verifier.len(), 43);
        assert_eq!(p.challenge, challenge_of(&p.verifier));
        assert_ne!(pkce().unwrap().verifier, p.verifier, "fresh each time");
        assert!(!format!("{p:?}").contains(&p.verifier));
    }

    #[test]
    fn the_authorize_url_asks_for_a_code_with_the_challenge() {
        let portal = PortalUrl::parse("https://gis.example.com/portal").unwrap();
        let p = pkce().unwrap();
        let url = authorize_url(&portal, "app id", "http://127.0.0.1:7/cb", "st", &p);
        assert!(url.starts_with(
            "https://gis.example.com/portal/sharing/rest/oauth2/authorize?client_id=app%20id&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A7%2Fcb&state=st&code_challenge="
        ), "{url}");
        assert!(url.contains(&p.challenge) && url.contains("code_challenge_method=S256"));
    }
}
