//! Fault injection: a seeded share of requests answered with a failure, so retries and
//! skip-on-failure are tested against real HTTP (spec/portal-api.md, Faults).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::{IntoResponse, Response};

/// Which failures to inject, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Faults {
    /// Requests failed, per thousand (0: none).
    pub per_mille: u16,
    /// The seed of the deterministic sequence of draws.
    pub seed: u64,
    /// Delay added to every request, in milliseconds.
    pub delay_ms: u64,
    /// Tokens expired, per thousand requests that carry one: the token is made expired before
    /// the request is handled, so this request and every later use of it are answered
    /// `498 Invalid token.`, as when a long run outlives its token. A token is never expired on
    /// its first use, so a client that signs in again always gets one request through.
    pub expire_per_mille: u16,
    /// Requests whose path (after `/<org>/sharing/rest/`) ends with this are refused, every time,
    /// with `400 Injected failure.` in the error envelope: a target that cannot publish, say.
    pub refuse: Option<Arc<str>>,
    /// With `refuse`: only requests that name this item (in their path or `itemId` parameter)
    /// are refused: one item's export or publish fails, the others' do not.
    pub refuse_item: Option<Arc<str>>,
    /// With `refuse`: answer as the portal answers for an item that does not exist
    /// (`400 Item does not exist or is inaccessible.`), as if it had vanished just before.
    pub refuse_as_missing: bool,
    /// A resource path (`images/logo.png`): reading a resource whose path ends so answers that it
    /// does not exist, as if it had been lost.
    pub drop_resource: Option<Arc<str>>,
}

/// A number already checked to be at most 1000.
fn per_mille(n: u64) -> u16 {
    u16::try_from(n).unwrap_or(1000)
}

impl std::str::FromStr for Faults {
    type Err = String;

    /// A fault spec, as `orgpack sandbox --faults` and `POST /_sandbox/faults` take it:
    /// comma-separated `key=value` with `fail` (requests failed per thousand), `seed`, `delay_ms`,
    /// `expire` (token-bearing requests whose token expires, per thousand), `refuse` (a path
    /// suffix refused every time, e.g. `/publish`), `item` (refuse only requests naming this item),
    /// `as=missing` (refuse as if the item did not exist) and `drop` (a resource path that reads
    /// as missing); `none` or nothing for no faults.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut faults = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "none" {
                continue;
            }
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            let number = |max: u64| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| format!("`{key}` takes a number up to {max}, not `{value}`"))
            };
            match key {
                "fail" | "per_mille" => faults.per_mille = per_mille(number(1000)?),
                "seed" => faults.seed = number(u64::MAX)?,
                "delay_ms" => faults.delay_ms = number(60_000)?,
                "expire" | "expire_per_mille" => {
                    faults.expire_per_mille = per_mille(number(1000)?);
                }
                "refuse" if !value.is_empty() => faults.refuse = Some(value.into()),
                "item" if !value.is_empty() => faults.refuse_item = Some(value.into()),
                "drop" if !value.is_empty() => faults.drop_resource = Some(value.into()),
                "as" if value == "missing" => faults.refuse_as_missing = true,
                _ => {
                    return Err(format!(
                        "unknown fault `{key}` (fail, seed, delay_ms, expire, refuse, item, as=missing, drop)"
                    ));
                }
            }
        }
        Ok(faults)
    }
}

/// How many faults a sandbox has injected since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultsInjected {
    /// Requests failed with 503, 429, a 500 envelope or a dropped connection.
    pub failed: u64,
    /// Tokens made expired.
    pub expired: u64,
}

/// What one draw decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    ServiceUnavailable,
    TooManyRequests,
    EnvelopeError,
    /// The connection is dropped before the answer is whole (the headers may or may not arrive).
    ConnectionReset,
}

/// The fault plan of a running sandbox.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    plan: Mutex<(Faults, u64)>,
    /// Tokens used at least once (so never expired on their first use).
    seen: Mutex<HashSet<String>>,
    failed: AtomicU64,
    expired: AtomicU64,
}

impl FaultState {
    pub fn set(&self, faults: Faults) {
        let seed = faults.seed | 1;
        *self.plan.lock().expect("fault lock") = (faults, seed);
    }

    pub fn injected(&self) -> FaultsInjected {
        FaultsInjected {
            failed: self.failed.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
        }
    }

    fn draw(&self) -> (Option<Fault>, u64) {
        let mut plan = self.plan.lock().expect("fault lock");
        let (faults, state) = &mut *plan;
        if faults.per_mille == 0 {
            return (None, faults.delay_ms);
        }
        let roll = next(state) % 1000;
        let kind = match (*state >> 20) % 4 {
            0 => Fault::ServiceUnavailable,
            1 => Fault::TooManyRequests,
            2 => Fault::EnvelopeError,
            _ => Fault::ConnectionReset,
        };
        let fault = (roll < u64::from(faults.per_mille)).then_some(kind);
        (fault, faults.delay_ms)
    }

    /// Whether the token this request carries expires now (never on its first use).
    pub fn expire_token(&self, token: &str) -> bool {
        let mut plan = self.plan.lock().expect("fault lock");
        let (faults, state) = &mut *plan;
        if faults.expire_per_mille == 0 {
            return false;
        }
        if self
            .seen
            .lock()
            .expect("fault lock")
            .insert(token.to_owned())
        {
            return false;
        }
        let expire = next(state) % 1000 < u64::from(faults.expire_per_mille);
        if expire {
            self.expired.fetch_add(1, Ordering::Relaxed);
        }
        expire
    }

    /// The targeted faults, once the request's parameters are known: a refused path (for one
    /// item, when `refuse_item` is set) or a dropped resource. `Some(response)` to answer instead.
    pub fn targeted(&self, path: &str, item_param: Option<&str>) -> Option<Response> {
        let faults = self.plan.lock().expect("fault lock").0.clone();
        let path = path.trim_end_matches('/');
        let names_item = |id: &str| item_param == Some(id) || path.split('/').any(|s| s == id);
        if faults.refuse.as_deref().is_some_and(|r| path.ends_with(r))
            && faults.refuse_item.as_deref().is_none_or(names_item)
        {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if faults.refuse_as_missing {
                return Some(crate::api::error(400, crate::api::NOT_FOUND, &[]));
            }
            return Some(crate::api::error(
                400,
                "Injected failure.",
                &["Injected by the sandbox."],
            ));
        }
        if let Some(dropped) = faults.drop_resource.as_deref()
            && path.contains("/resources/")
            && path.ends_with(dropped)
        {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return Some(crate::api::error(
                400,
                "Resource does not exist or is inaccessible.",
                &[],
            ));
        }
        None
    }

    /// Draw the random faults for one request: `Some(response)` to answer instead of the API.
    pub async fn before(&self) -> Option<Response> {
        let (fault, delay) = self.draw();
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let fault = fault?;
        self.failed.fetch_add(1, Ordering::Relaxed);
        Some(match fault {
            Fault::ServiceUnavailable => (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
            )
                .into_response(),
            Fault::TooManyRequests => (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "Too Many Requests",
            )
                .into_response(),
            Fault::EnvelopeError => {
                crate::api::error(500, "An error occurred.", &["Injected by the sandbox."])
            }
            Fault::ConnectionReset => {
                // A body stream that fails makes hyper abort the connection mid-response.
                let reset = futures_util::stream::iter([Err::<Vec<u8>, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected by the sandbox",
                ))]);
                (
                    [("content-type", "application/json; charset=utf-8")],
                    axum::body::Body::from_stream(reset),
                )
                    .into_response()
            }
        })
    }
}

/// One xorshift64 step: the next draw of a seeded sequence.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[cfg(test)]
mod tests {
    use super::Faults;

    #[test]
    fn specs_parse_or_say_what_is_wrong() {
        let f: Faults = "fail=100, seed=7,delay_ms=5,expire=20,refuse=/publish"
            .parse()
            .unwrap();
        assert_eq!(
            (
                f.per_mille,
                f.seed,
                f.delay_ms,
                f.expire_per_mille,
                f.refuse.as_deref()
            ),
            (100, 7, 5, 20, Some("/publish"))
        );
        assert_eq!("none".parse::<Faults>().unwrap(), Faults::default());
        assert_eq!("".parse::<Faults>().unwrap(), Faults::default());
        assert!(
            "fail=1001"
                .parse::<Faults>()
                .unwrap_err()
                .contains("up to 1000")
        );
        assert!(
            "explode=1"
                .parse::<Faults>()
                .unwrap_err()
                .contains("unknown fault")
        );
        assert!("fail".parse::<Faults>().unwrap_err().contains("key=value"));
    }
}
