//! Hosted feature services as restore rebuilds them: a service's and its layers' admin
//! definitions, settings changed after loading (`updateDefinition`), data loaded from an uploaded
//! file (`append`, a job polled at its `statusUrl`), and layers emptied (`truncate`).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};
use crate::write::admin_url;

impl Client {
    /// A hosted service's admin definition (`…/rest/admin/services/…/FeatureServer`): its
    /// properties with every layer and table defined whole.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn admin_definition(&self, service_url: &str) -> Result<Value, Error> {
        self.call(
            "admin definition",
            Method::Get,
            &admin_url(service_url),
            &[],
        )
        .await
    }

    /// Change a hosted service's properties (`updateDefinition` on its admin endpoint).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn update_definition(&self, service_url: &str, update: &str) -> Result<(), Error> {
        let url = format!("{}/updateDefinition", admin_url(service_url));
        let answer = self
            .call(
                "updateDefinition",
                Method::Post,
                &url,
                &[("updateDefinition", update)],
            )
            .await?;
        refused_unless_success("updateDefinition", &url, &answer)
    }

    /// Load features into a hosted service from an uploaded file item (`append` at the service
    /// level, as a job): `layer_mappings` is the JSON `[{"id", "sourceTableName"}]`, GlobalIDs are
    /// kept. Returns once the job completed, or its error.
    ///
    /// # Errors
    /// As [`Client::call`]; the job's error; [`ErrorKind::Transport`] when it does not finish
    /// within `timeout`.
    pub async fn append(
        &self,
        service_url: &str,
        item_id: &str,
        upload_format: &str,
        layer_mappings: &str,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let url = format!("{}/append", service_url.trim_end_matches('/'));
        let answer = self
            .call(
                "append",
                Method::Post,
                &url,
                &[
                    ("appendItemId", item_id),
                    ("appendUploadFormat", upload_format),
                    ("layerMappings", layer_mappings),
                    ("useGlobalIds", "true"),
                    ("rollbackOnFailure", "true"),
                    ("upsert", "false"),
                ],
            )
            .await?;
        let Some(status_url) = answer.get("statusUrl").and_then(Value::as_str) else {
            return Ok(answer);
        };
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            let status = self
                .call("append status", Method::Get, status_url, &[])
                .await?;
            match status
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
            {
                "Completed" | "esriJobSucceeded" => return Ok(status),
                s @ ("Failed" | "esriJobFailed" | "esriJobCancelled") => {
                    return Err(Error::new(
                        "append",
                        status_url,
                        ErrorKind::Portal {
                            code: 500,
                            message: format!("the append job ended {s}"),
                            details: vec![status.to_string()],
                        },
                    ));
                }
                _ => {}
            }
            if started.elapsed() > timeout {
                return Err(Error::new(
                    "append",
                    status_url,
                    ErrorKind::Transport(format!(
                        "the append job did not finish within {}s",
                        timeout.as_secs()
                    )),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// How many attachments a layer's features hold (`queryAttachments` over every feature).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn attachment_count(&self, layer_url: &str) -> Result<u64, Error> {
        let url = format!("{}/queryAttachments", layer_url.trim_end_matches('/'));
        let answer = self
            .call(
                "queryAttachments",
                Method::Get,
                &url,
                &[("definitionExpression", "1=1")],
            )
            .await?;
        Ok(answer["attachmentGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| g["attachmentInfos"].as_array().map_or(0, Vec::len) as u64)
            .sum())
    }

    /// Delete every feature of a layer or table (`truncate` on its admin endpoint).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn truncate(&self, service_url: &str, layer: u64) -> Result<(), Error> {
        let url = format!("{}/{layer}/truncate", admin_url(service_url));
        let answer = self
            .call("truncate", Method::Post, &url, &[("async", "false")])
            .await?;
        refused_unless_success("truncate", &url, &answer)
    }
}

fn refused_unless_success(call: &str, url: &str, answer: &Value) -> Result<(), Error> {
    if answer.get("success").and_then(Value::as_bool) == Some(false) {
        return Err(Error::new(
            call,
            url,
            ErrorKind::Portal {
                code: 400,
                message: format!("{call} did not succeed"),
                details: vec![answer.to_string()],
            },
        ));
    }
    Ok(())
}
