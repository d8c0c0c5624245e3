//! Offline map areas through the portal's Offline Packaging geoprocessing service, whose URL
//! `portals/self` names in `helperServices.packaging.url` (on ArcGIS Online
//! `packaging.arcgis.com/…/OfflinePackaging/GPServer`): `CreateMapArea` makes a web map's `Map
//! Area` item, `SetupMapArea` its packages. Both are asynchronous tasks: `submitJob`, then
//! `jobs/<id>` until it ends, then `jobs/<id>/results/<name>`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};

/// What makes a map area: its map, its area, and how its item is named.
#[derive(Debug, Clone)]
pub struct NewMapArea<'a> {
    /// The web map's id.
    pub map: &'a str,
    /// `BOOKMARK`, `ENVELOPE` or `POLYGON`.
    pub area_type: &'a str,
    /// The area: `{"name"}` of a bookmark, an envelope or a polygon, with its spatial reference.
    pub area: &'a Value,
    /// `outputName`: `title`, `snippet`, `description`, `tags`, `folderId`,
    /// `packageRefreshSchedule`.
    pub output_name: &'a Value,
}

impl Client {
    /// The packaging service's URL, when the portal has one.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn packaging_url(&self) -> Result<Option<String>, Error> {
        let portal = self.portal_self().await?;
        Ok(portal
            .pointer("/helperServices/packaging/url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_owned))
    }

    /// Run `CreateMapArea` of the packaging service at `service`: the new map area's id.
    ///
    /// # Errors
    /// As [`Client::call`]; a failed job as [`ErrorKind::Portal`] with its messages.
    pub async fn create_map_area(
        &self,
        service: &str,
        new: &NewMapArea<'_>,
        timeout: Duration,
    ) -> Result<String, Error> {
        let area = new.area.to_string();
        let output = new.output_name.to_string();
        let params = [
            ("mapItemId", new.map),
            ("areaType", new.area_type),
            ("area", area.as_str()),
            ("outputName", output.as_str()),
        ];
        let value = self
            .run_gp_task(service, "CreateMapArea", &params, "mapAreaItemId", timeout)
            .await?;
        value.as_str().map(str::to_owned).ok_or_else(|| {
            Error::new(
                "CreateMapArea",
                service,
                ErrorKind::Decode("mapAreaItemId is not a string".into()),
            )
        })
    }

    /// Run `SetupMapArea` for the map area `area`, packaging every layer of its map the service
    /// can (none ignored, no tile services given): its `packages` output.
    ///
    /// # Errors
    /// As [`Client::create_map_area`].
    pub async fn setup_map_area(
        &self,
        service: &str,
        area: &str,
        timeout: Duration,
    ) -> Result<Value, Error> {
        self.run_gp_task(
            service,
            "SetupMapArea",
            &[("mapAreaItemId", area)],
            "packages",
            timeout,
        )
        .await
    }

    /// Submit `task`'s job, wait for it to end, and read its output `output`.
    async fn run_gp_task(
        &self,
        service: &str,
        task: &str,
        params: &[(&str, &str)],
        output: &str,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let base = format!("{}/{task}", service.trim_end_matches('/'));
        let submitted = self
            .call(task, Method::Post, &format!("{base}/submitJob"), params)
            .await?;
        let job = submitted
            .get("jobId")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new(task, &base, ErrorKind::Decode("no jobId".into())))?
            .to_owned();
        let status_url = format!("{base}/jobs/{job}");
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            let status = self.call(task, Method::Get, &status_url, &[]).await?;
            match status["jobStatus"].as_str().unwrap_or_default() {
                "esriJobSucceeded" => break,
                s @ ("esriJobFailed" | "esriJobCancelled" | "esriJobTimedOut") => {
                    let details: Vec<String> = status["messages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m["description"].as_str().map(str::to_owned))
                        .collect();
                    return Err(Error::new(
                        task,
                        &status_url,
                        ErrorKind::Portal {
                            code: 500,
                            message: format!("{task} ended {s}"),
                            details,
                        },
                    ));
                }
                _ => {}
            }
            if started.elapsed() > timeout {
                return Err(Error::new(
                    task,
                    &status_url,
                    ErrorKind::Transport(format!(
                        "the job did not finish within {}s",
                        timeout.as_secs()
                    )),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
        let result = self
            .call(
                task,
                Method::Get,
                &format!("{status_url}/results/{output}"),
                &[],
            )
            .await?;
        Ok(result.get("value").cloned().unwrap_or(Value::Null))
    }
}
