//! Fault injection: a seeded share of requests answered with a failure, so retries and
//! skip-on-failure are tested against real HTTP (spec/portal-api.md, Faults).

use std::sync::Mutex;
use std::time::Duration;

use axum::response::{IntoResponse, Response};

/// Which failures to inject, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Requests failed, per thousand (0: none).
    pub per_mille: u16,
    /// The seed of the deterministic sequence of draws.
    pub seed: u64,
    /// Delay added to every request, in milliseconds.
    pub delay_ms: u64,
}

/// What one draw decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    ServiceUnavailable,
    TooManyRequests,
    EnvelopeError,
}

/// The fault plan of a running sandbox.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    plan: Mutex<(Faults, u64)>,
}

impl FaultState {
    pub fn set(&self, faults: Faults) {
        *self.plan.lock().expect("fault lock") = (faults, faults.seed | 1);
    }

    fn draw(&self) -> (Option<Fault>, u64) {
        let mut plan = self.plan.lock().expect("fault lock");
        let (faults, state) = &mut *plan;
        if faults.per_mille == 0 {
            return (None, faults.delay_ms);
        }
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let roll = *state % 1000;
        let kind = match (*state >> 20) % 3 {
            0 => Fault::ServiceUnavailable,
            1 => Fault::TooManyRequests,
            _ => Fault::EnvelopeError,
        };
        let fault = (roll < u64::from(faults.per_mille)).then_some(kind);
        (fault, faults.delay_ms)
    }

    /// Apply the plan to one request: `Some(response)` to answer instead of the API.
    pub async fn before(&self) -> Option<Response> {
        let (fault, delay) = self.draw();
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Some(match fault? {
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
        })
    }
}
