//! Errors of portal calls. Each names the call and the URL (credentials redacted) and says
//! whether trying again can help.

use crate::redact::redact;

/// A failed portal call.
#[derive(Debug, thiserror::Error)]
#[error("{call} ({url}): {kind}")]
pub struct Error {
    /// What was being done (`search`, `item 1a2b…`, `generateToken`).
    pub call: String,
    /// The URL, credentials redacted.
    pub url: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The portal answered with its error envelope (`{"error": {"code", "message", "details"}}`),
    /// whatever the HTTP status.
    #[error("portal error {code}: {message}{}", if details.is_empty() { String::new() } else { format!(" ({})", details.join("; ")) })]
    Portal {
        /// The envelope's code (400, 403, 498, 499, 500 …).
        code: i64,
        /// The envelope's message.
        message: String,
        /// The envelope's details.
        details: Vec<String>,
    },
    /// An HTTP status without an envelope.
    #[error("HTTP {status}")]
    Http {
        /// The status code.
        status: u16,
        /// `Retry-After`, in seconds, when given.
        retry_after: Option<u64>,
    },
    /// The body is not what the call expects (HTML, truncated JSON, wrong shape).
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// The connection failed, was reset or timed out.
    #[error("{0}")]
    Transport(String),
    /// Signing in failed.
    #[error("sign-in failed: {0}")]
    Auth(String),
}

impl Error {
    /// An error of `call` on `url`; credentials in the URL and messages are redacted here.
    #[must_use]
    pub fn new(call: &str, url: &str, kind: ErrorKind) -> Self {
        let kind = match kind {
            ErrorKind::Portal {
                code,
                message,
                details,
            } => ErrorKind::Portal {
                code,
                message: redact(&message),
                details: details.iter().map(|d| redact(d)).collect(),
            },
            ErrorKind::Decode(m) => ErrorKind::Decode(redact(&m)),
            ErrorKind::Transport(m) => ErrorKind::Transport(redact(&m)),
            ErrorKind::Auth(m) => ErrorKind::Auth(redact(&m)),
            other => other,
        };
        Self {
            call: call.to_owned(),
            url: redact(url),
            kind,
        }
    }

    /// Whether the same call may succeed later: rate limits, server errors, broken connections
    /// and timeouts are; bad requests, permissions and missing items are not.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::Portal { code, .. } => matches!(code, 429 | 500 | 502 | 503 | 504),
            ErrorKind::Http { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            ErrorKind::Transport(_) => true,
            ErrorKind::Decode(_) | ErrorKind::Auth(_) => false,
        }
    }

    /// Whether the token was rejected (498 invalid or expired, 499 missing): signing in again helps.
    #[must_use]
    pub fn is_token_problem(&self) -> bool {
        matches!(
            &self.kind,
            ErrorKind::Portal {
                code: 498 | 499,
                ..
            } | ErrorKind::Http {
                status: 498 | 499,
                ..
            }
        )
    }

    /// Whether the thing asked for does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        match &self.kind {
            ErrorKind::Portal { code, message, .. } => {
                *code == 404
                    || (*code == 400 && message.to_ascii_lowercase().contains("does not exist"))
            }
            ErrorKind::Http { status, .. } => *status == 404,
            _ => false,
        }
    }

    /// The delay the server asked for, in seconds.
    #[must_use]
    pub fn retry_after(&self) -> Option<u64> {
        match &self.kind {
            ErrorKind::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The error envelope in a JSON body, if there is one: ArcGIS answers errors with HTTP 200.
#[must_use]
pub fn envelope(body: &serde_json::Value) -> Option<ErrorKind> {
    let error = body.get("error")?;
    let code = error
        .get("code")
        .and_then(|c| {
            c.as_i64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    let message = error
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let details = error
        .get("details")
        .and_then(serde_json::Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some(ErrorKind::Portal {
        code,
        message,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_and_classes() {
        let kind =
            envelope(&json!({"error": {"code": 498, "message": "Invalid token.", "details": []}}))
                .unwrap();
        let e = Error::new(
            "search",
            "https://h/sharing/rest/search?q=x&token=abc",
            kind,
        );
        assert!(e.is_token_problem() && !e.is_retryable());
        assert_eq!(
            e.to_string(),
            "search (https://h/sharing/rest/search?q=x&token=REDACTED): portal error 498: Invalid token."
        );
        let kind = envelope(&json!({"error": {"code": 400, "message": "Item does not exist or is inaccessible.", "details": []}})).unwrap();
        assert!(Error::new("item", "u", kind).is_not_found());
        assert!(
            Error::new(
                "x",
                "u",
                ErrorKind::Http {
                    status: 503,
                    retry_after: None
                }
            )
            .is_retryable()
        );
        assert!(envelope(&json!({"id": "x"})).is_none());
    }
}
