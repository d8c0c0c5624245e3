//! `--notify URL`: a short summary of a backup or restore, posted when the run ends: plain JSON,
//! or the body a Slack or Microsoft Teams incoming webhook takes. A notification that cannot be
//! delivered is a warning, never the run's failure. Webhook URLs carry their secret in the path
//! (Slack's `T…/B…/…`, Teams' `sig=`): nothing here prints more of one than its scheme and host.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::NotifyFormat;
use crate::metrics::{Metrics, Verdict};

/// What a notification says.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `backup` or `restore`.
    pub command: &'static str,
    /// How the run ended.
    pub verdict: Verdict,
    /// One line: what ran and how it ended.
    pub title: String,
    /// A few lines: the figures, or the error.
    pub text: String,
    /// The run's labels and figures (as `--metrics` has them).
    pub details: Value,
}

impl Summary {
    /// The summary of a run whose figures are in `metrics` and which ended with `result`.
    pub fn of(metrics: &Metrics, verdict: Verdict, result: &anyhow::Result<u8>) -> Self {
        let (command, labels, values, info) = metrics.parts();
        let about = labels
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let how = match verdict {
            Verdict::Complete => "complete".to_owned(),
            Verdict::Partial => match values.iter().find(|(k, _)| k == "parts_missing") {
                Some((_, n)) => format!("partial: {n} parts missing"),
                None => "partial: some items failed".to_owned(),
            },
            Verdict::Failed => "failed".to_owned(),
        };
        let title = format!("orgpack {command} of {about}: {how}");
        let mut lines: Vec<String> = info.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        if let Err(e) = result {
            lines.push(format!("error: {e:#}"));
        }
        lines.extend(values.iter().map(|(k, v)| format!("{k}: {v}")));
        let mut details = serde_json::Map::new();
        for (k, v) in labels {
            details.insert((*k).to_owned(), json!(v));
        }
        for (k, v) in info {
            details.insert((*k).to_owned(), json!(v));
        }
        for (k, v) in values {
            details.insert(k.clone(), json!(v));
        }
        if let Err(e) = result {
            details.insert("error".into(), json!(format!("{e:#}")));
        }
        Self {
            command,
            verdict,
            title,
            text: lines.join("\n"),
            details: Value::Object(details),
        }
    }

    /// The body to post in `format` (`Auto` already resolved).
    pub fn body(&self, format: NotifyFormat) -> Value {
        let verdict = match self.verdict {
            Verdict::Complete => "complete",
            Verdict::Partial => "partial",
            Verdict::Failed => "failed",
        };
        match format {
            NotifyFormat::Slack => json!({
                "text": format!("{}\n{}", self.title, self.text),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": self.title}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("```{}```", self.text)}}
                ]
            }),
            NotifyFormat::Teams => json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": self.title, "weight": "Bolder", "size": "Medium",
                             "color": if self.verdict == Verdict::Complete { "Good" } else { "Attention" }, "wrap": true},
                            {"type": "TextBlock", "text": self.text, "wrap": true, "fontType": "Monospace"}
                        ]
                    }
                }]
            }),
            NotifyFormat::Json | NotifyFormat::Auto => json!({
                "tool": "orgpack",
                "command": self.command,
                "verdict": verdict,
                "title": self.title,
                "text": self.text,
                "details": self.details,
            }),
        }
    }
}

/// The format for `url` under `format`: `Auto` by the host (Slack's `hooks.slack.com`; Teams'
/// `*.webhook.office.com`, Power Automate's `*.logic.azure.com` and `*.powerplatform.com`),
/// else plain JSON.
pub fn format_for(url: &str, format: NotifyFormat) -> NotifyFormat {
    if format != NotifyFormat::Auto {
        return format;
    }
    let host = host_of(url).to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or_default();
    if host == "hooks.slack.com" {
        NotifyFormat::Slack
    } else if host.ends_with(".webhook.office.com")
        || host.ends_with(".logic.azure.com")
        || host.ends_with(".powerplatform.com")
    {
        NotifyFormat::Teams
    } else {
        NotifyFormat::Json
    }
}

/// The host (and port) of `url`, without anything before it.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

/// How a URL is shown in a warning: scheme and host only.
pub fn shown(url: &str) -> String {
    let scheme = url.split_once("://").map_or("https", |(s, _)| s);
    format!("{scheme}://{}/…", host_of(url))
}

/// Post `summary` to each of `urls`; returns a warning per notification not delivered (each
/// tried twice, 15 s each, 2 s apart).
pub fn send(urls: &[String], format: NotifyFormat, summary: &Summary) -> Vec<String> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return vec!["notifications not sent: the async runtime could not start".to_owned()];
    };
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("orgpack/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => return vec![format!("notifications not sent: {e}")],
    };
    let mut warnings = Vec::new();
    for url in urls {
        let body = summary.body(format_for(url, format));
        let outcome = runtime.block_on(async {
            let mut last = String::new();
            for attempt in 0..2 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                match http.post(url).json(&body).send().await {
                    Ok(r) if r.status().is_success() => return Ok(()),
                    Ok(r) => last = format!("answered {}", r.status()),
                    // Without the URL: reqwest's message would hold it whole.
                    Err(e) => {
                        last = if e.is_timeout() {
                            "timed out".to_owned()
                        } else if e.is_connect() {
                            "could not connect".to_owned()
                        } else {
                            "the request failed".to_owned()
                        };
                    }
                }
            }
            Err(last)
        });
        if let Err(why) = outcome {
            warnings.push(format!(
                "the notification to {} was not delivered: {why}",
                shown(url)
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_host_and_a_url_shows_only_its_host() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        assert_eq!(format_for(slack, NotifyFormat::Auto), NotifyFormat::Slack);
        assert_eq!(
            format_for(
                "https://contoso.webhook.office.com/webhookb2/x@y/IncomingWebhook/z",
                NotifyFormat::Auto
            ),
            NotifyFormat::Teams
        );
        assert_eq!(
            format_for(
                "https://prod-12.westus.logic.azure.com:443/workflows/abc?sig=SECRET",
                NotifyFormat::Auto
            ),
            NotifyFormat::Teams
        );
        assert_eq!(
            format_for("http://127.0.0.1:9/hook", NotifyFormat::Auto),
            NotifyFormat::Json
        );
        assert_eq!(format_for(slack, NotifyFormat::Json), NotifyFormat::Json);
        assert_eq!(shown(slack), "https://hooks.slack.com/…");
        assert_eq!(
            shown("https://prod-12.westus.logic.azure.com:443/workflows/abc?sig=SECRET"),
            "https://prod-12.westus.logic.azure.com:443/…"
        );
        assert_eq!(shown("https://u:p@example.com/x"), "https://example.com/…");
    }
}
