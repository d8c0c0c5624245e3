//! Credentials never leave this crate: every URL and message that may carry one is redacted
//! before it is stored in an error or a log line.

/// Query parameters and form fields whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "password",
    "access_token",
    "refresh_token",
    "client_secret",
    "code",
    "code_verifier",
    "apikey",
    "api_key",
];

/// `text` with the values of secret parameters (`token=…`, `password=…`, …) and bearer tokens
/// replaced by `REDACTED`.
#[must_use]
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let at_boundary = i == 0
            || matches!(
                bytes[i - 1],
                b'?' | b'&' | b' ' | b'"' | b'{' | b',' | b'\n'
            );
        if at_boundary
            && let Some(param) = SECRET_PARAMS.iter().find(|p| {
                bytes.len() - i > p.len()
                    && bytes[i..i + p.len()].eq_ignore_ascii_case(p.as_bytes())
                    && matches!(bytes[i + p.len()], b'=' | b':')
            })
        {
            let value_start = i + param.len() + 1;
            let value_end = text[value_start..]
                .find(['&', ' ', '"', ',', '}', '\n'])
                .map_or(text.len(), |e| value_start + e);
            out.push_str(&text[i..value_start]);
            out.push_str("REDACTED");
            i = value_end;
            continue;
        }
        if bytes.len() - i > 7 && bytes[i..i + 7].eq_ignore_ascii_case(b"bearer ") {
            let value_end = text[i + 7..]
                .find([' ', '"', ',', '\n'])
                .map_or(text.len(), |e| i + 7 + e);
            out.push_str(&text[i..i + 7]);
            out.push_str("REDACTED");
            i = value_end;
            continue;
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secrets_are_removed() {
        assert_eq!(
            redact("https://h/sharing/rest/content/items/x?f=json&token=abc.DEF-123&q=1"),
            "https://h/sharing/rest/content/items/x?f=json&token=REDACTED&q=1"
        );
        assert_eq!(
            redact("username=ann&password=s3cr3t!&f=json"),
            "username=ann&password=REDACTED&f=json"
        );
        assert_eq!(
            redact("Authorization: Bearer eyJhbGciOi.x.y"),
            "Authorization: Bearer REDACTED"
        );
        assert_eq!(
            redact("?mytoken=keep"),
            "?mytoken=keep",
            "only whole parameter names"
        );
    }

    #[test]
    fn text_beyond_ascii_is_kept_whole() {
        // A message with a multi-byte character where a parameter name could start used to
        // panic slicing inside the character.
        let text = "Invalid featuredGroups: expected [{\"title\": …, \"owner\": …}] – café token=x";
        assert_eq!(
            redact(text),
            "Invalid featuredGroups: expected [{\"title\": …, \"owner\": …}] – café token=REDACTED"
        );
    }

    proptest! {
        #[test]
        fn any_text_is_redacted_without_panic(text in "\\PC{0,60}") {
            let _ = redact(&text);
        }

        #[test]
        fn a_secret_never_survives(secret in "[A-Za-z0-9._~!*-]{8,40}", before in "[a-z=&?/]{0,12}") {
            for param in ["token", "password", "access_token", "apikey"] {
                let text = format!("https://h/x{before}?{param}={secret}&f=json");
                prop_assert!(!redact(&text).contains(&secret), "{text}");
            }
        }
    }
}
