//! Asynchronous jobs of hosted services (`append`, `truncate` with `async`): each answers at once
//! with a status URL, `…/FeatureServer/jobs/<id>`, which reports `Pending` until the job is as old
//! as the sandbox's job latency (`--job-latency`), then `Completed` or `Failed` with the error.
//! The work itself is done when the job is submitted, in one transaction.

use axum::response::Response;
use serde_json::{Value, json};

use super::{Call, error};

/// A job: its organization, when it was submitted and may report its end (epoch ms), and its
/// outcome (an error envelope's `error` when it failed).
#[derive(Debug, Clone)]
pub(crate) struct Job {
    org: String,
    submitted: i64,
    ready: i64,
    outcome: Result<Value, Value>,
}

/// When a job submitted now may report its end.
pub(super) fn ready_at(call: &Call) -> i64 {
    crate::now_ms().saturating_add(call.shared.job_latency_ms)
}

/// Record a finished job of service `service`; its status URL.
pub(super) fn submit(call: &Call, service: &str, outcome: Result<Value, Value>) -> String {
    let id = record(call, crate::new_id(), outcome);
    format!("{}/jobs/{id}", super::services::service_url(call, service))
}

/// Record a finished job under `id`; the id.
pub(super) fn record(call: &Call, id: String, outcome: Result<Value, Value>) -> String {
    let now = crate::now_ms();
    call.shared.jobs.lock().expect("jobs lock poisoned").insert(
        id.clone(),
        Job {
            org: call.org.clone(),
            submitted: now,
            ready: ready_at(call),
            outcome,
        },
    );
    id
}

/// A job of this organization: when it was submitted, when it may report its end, and its
/// outcome.
pub(super) fn lookup(call: &Call, id: &str) -> Option<(i64, i64, Result<Value, Value>)> {
    let job = call
        .shared
        .jobs
        .lock()
        .expect("jobs lock poisoned")
        .get(id)
        .filter(|j| j.org == call.org)
        .cloned()?;
    Some((job.submitted, job.ready, job.outcome))
}

/// `GET …/FeatureServer/jobs/<id>`: `{"jobId", "status", "submissionTime", "lastUpdatedTime"}`,
/// with the job's answer (`Completed`) or `error` (`Failed`).
pub(super) fn status(call: &Call, id: &str) -> Result<Response, Response> {
    call.require_user()?;
    let (submitted, ready, outcome) =
        lookup(call, id).ok_or_else(|| error(400, "Job not found.", &[]))?;
    let now = crate::now_ms();
    let mut out =
        json!({"jobId": id, "submissionTime": submitted, "lastUpdatedTime": now.min(ready)});
    if now < ready {
        out["status"] = json!("Pending");
        return Ok(call.reply(&out));
    }
    match outcome {
        Ok(answer) => {
            out["status"] = json!("Completed");
            if let (Some(o), Some(a)) = (out.as_object_mut(), answer.as_object()) {
                o.extend(a.clone());
            }
        }
        Err(e) => {
            out["status"] = json!("Failed");
            out["error"] = e;
        }
    }
    Ok(call.reply(&out))
}
