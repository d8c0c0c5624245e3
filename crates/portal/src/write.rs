//! Calls that change a portal: items, folders, sharing, ownership, relationships, resources,
//! exports and publishing with their jobs.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind, envelope};

/// Files up to this size are sent in one request; larger ones in parts.
pub const SINGLE_UPLOAD_LIMIT: u64 = 32 << 20;

/// Parts of one file uploaded at once.
pub const PARALLEL_PARTS: usize = 4;

/// What an item is created with, besides its properties.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// Nothing.
    None,
    /// JSON or other text (`text`): web maps, apps, dashboards.
    Text(&'a str),
    /// A URL (`url`): services, apps, links.
    Url(&'a str),
    /// A file, streamed from disk, with the name the item should show.
    File {
        /// The file on disk.
        path: &'a Path,
        /// The file name to give the portal.
        name: &'a str,
    },
}

impl<'a> Content<'a> {
    /// The form field that carries text or URL content (`text`, `url`); files go as a part.
    fn form_field(&self) -> Option<(&'static str, &'a str)> {
        match *self {
            Content::Text(t) => Some(("text", t)),
            Content::Url(u) => Some(("url", u)),
            Content::None | Content::File { .. } => None,
        }
    }
}

/// A started export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportJob {
    /// The job to poll.
    pub job_id: String,
    /// The new item that will hold the export.
    pub export_item_id: String,
}

/// A started publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The job to poll.
    pub job_id: Option<String>,
    /// The new service's item.
    pub service_item_id: String,
    /// The new service's URL.
    pub service_url: Option<String>,
}

/// A hosted service's admin endpoint: its URL with `/rest/services/` made `/rest/admin/services/`,
/// as on ArcGIS Online (`…/rest/admin/services/<name>/FeatureServer`).
#[must_use]
pub fn admin_url(service_url: &str) -> String {
    service_url
        .trim_end_matches('/')
        .replacen("/rest/services/", "/rest/admin/services/", 1)
}

fn user_path(owner: &str, folder: Option<&str>) -> String {
    match folder {
        Some(f) if !f.is_empty() && f != "/" => format!("content/users/{owner}/{f}"),
        _ => format!("content/users/{owner}"),
    }
}

/// `success: false` without an error envelope is a failure too.
pub(crate) fn ensure_success(call: &str, url: &str, v: &Value) -> Result<(), Error> {
    if v.get("success").and_then(Value::as_bool) == Some(false) {
        return Err(Error::new(
            call,
            url,
            envelope(v)
                .unwrap_or_else(|| ErrorKind::Decode("the portal answered success: false".into())),
        ));
    }
    Ok(())
}

fn string_field(call: &str, url: &str, v: &Value, key: &str) -> Result<String, Error> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                call,
                url,
                ErrorKind::Decode(format!("no `{key}` in the answer")),
            )
        })
}

impl Client {
    /// Create an item in `owner`'s `folder` (root when `None`); returns its id. Files over
    /// [`SINGLE_UPLOAD_LIMIT`] go up in parts of `part_size` bytes, [`PARALLEL_PARTS`] at a time,
    /// each streamed from its range of the file (memory stays a buffer a part),
    /// then the item is committed and its status polled until complete.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Transport`] when the file cannot be read.
    pub async fn add_item(
        &self,
        owner: &str,
        folder: Option<&str>,
        params: &[(&str, &str)],
        content: Content<'_>,
        part_size: usize,
    ) -> Result<String, Error> {
        let path = format!("{}/addItem", user_path(owner, folder));
        let url = self.absolute(&path);
        let mut all = params.to_vec();
        all.extend(content.form_field());
        let answer = match content {
            Content::None | Content::Text(_) | Content::Url(_) => {
                self.call("addItem", Method::Post, &path, &all).await?
            }
            Content::File { path: file, name } => {
                let size = tokio::fs::metadata(file)
                    .await
                    .map_err(|e| {
                        Error::new(
                            "addItem",
                            &url,
                            ErrorKind::Transport(format!("reading `{}`: {e}", file.display())),
                        )
                    })?
                    .len();
                if size <= SINGLE_UPLOAD_LIMIT {
                    self.upload_form("addItem", &path, &all, "file", file, name)
                        .await?
                } else {
                    return self
                        .add_item_in_parts(owner, &path, &all, (file, size), name, part_size)
                        .await;
                }
            }
        };
        ensure_success("addItem", &url, &answer)?;
        string_field("addItem", &url, &answer, "id")
    }

    async fn add_item_in_parts(
        &self,
        owner: &str,
        path: &str,
        params: &[(&str, &str)],
        (file, size): (&Path, u64),
        name: &str,
        part_size: usize,
    ) -> Result<String, Error> {
        let url = self.absolute(path);
        let part_size = part_size.max(1 << 10) as u64;
        let parts = size.div_ceil(part_size).max(1);
        if parts > 10_000 {
            // Said before the item is made, so nothing is left behind.
            return Err(Error::new(
                "addPart",
                &url,
                ErrorKind::Decode(format!(
                    "{parts} parts of {part_size} bytes, more than 10 000: use a larger part size"
                )),
            ));
        }
        let mut start = params.to_vec();
        start.extend([("multipart", "true"), ("filename", name)]);
        let answer = self
            .call("addItem (multipart)", Method::Post, path, &start)
            .await?;
        ensure_success("addItem (multipart)", &url, &answer)?;
        let id = string_field("addItem (multipart)", &url, &answer, "id")?;
        // Parts go up a few at a time (the portal joins them by number at commit): over a long
        // round trip that is most of the time. Each is streamed from its range of the file, so
        // memory stays a buffer a part whatever the part size.
        let uploads = (1..=parts).map(|part| {
            let offset = (part - 1) * part_size;
            let length = part_size.min(size - offset);
            let part_path = format!("content/users/{owner}/items/{id}/addPart?partNum={part}");
            async move {
                let answer = self
                    .upload_file_range("addPart", &part_path, file, (offset, length), name)
                    .await?;
                ensure_success("addPart", &self.absolute(&part_path), &answer)
            }
        });
        {
            let mut pending = futures_util::stream::iter(uploads).buffer_unordered(PARALLEL_PARTS);
            while let Some(done) = pending.next().await {
                done?;
            }
        }
        let commit_path = format!("content/users/{owner}/items/{id}/commit");
        let mut commit = params.to_vec();
        commit.push(("async", "true"));
        let answer = self
            .call("commit", Method::Post, &commit_path, &commit)
            .await?;
        ensure_success("commit", &self.absolute(&commit_path), &answer)?;
        self.wait_for_job(owner, &id, None, None, Duration::from_hours(1))
            .await?;
        Ok(id)
    }

    /// Poll `content/users/<owner>/items/<item>/status` until the job completes.
    ///
    /// # Errors
    /// [`ErrorKind::Portal`] with the job's message when it fails; [`ErrorKind::Transport`] when
    /// it does not finish within `timeout`.
    pub async fn wait_for_job(
        &self,
        owner: &str,
        item: &str,
        job_id: Option<&str>,
        job_type: Option<&str>,
        timeout: Duration,
    ) -> Result<(), Error> {
        let path = format!("content/users/{owner}/items/{item}/status");
        let mut params = Vec::new();
        if let Some(j) = job_id {
            params.push(("jobId", j));
        }
        if let Some(t) = job_type {
            params.push(("jobType", t));
        }
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            let status = self.call("status", Method::Get, &path, &params).await?;
            match status
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
            {
                "completed" | "esriJobSucceeded" => return Ok(()),
                s @ ("failed" | "esriJobFailed" | "esriJobCancelled" | "esriJobTimedOut") => {
                    let message = status
                        .get("statusMessage")
                        .and_then(Value::as_str)
                        .unwrap_or(s)
                        .to_owned();
                    return Err(Error::new(
                        "status",
                        &self.absolute(&path),
                        ErrorKind::Portal {
                            code: 500,
                            message,
                            details: Vec::new(),
                        },
                    ));
                }
                _ => {}
            }
            if started.elapsed() > timeout {
                return Err(Error::new(
                    "status",
                    &self.absolute(&path),
                    ErrorKind::Transport(format!(
                        "the job did not finish within {}s",
                        timeout.as_secs()
                    )),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// Update an item's properties, and its data when `content` is given.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn update_item(
        &self,
        owner: &str,
        folder: Option<&str>,
        id: &str,
        params: &[(&str, &str)],
        content: Content<'_>,
    ) -> Result<(), Error> {
        let path = format!("{}/items/{id}/update", user_path(owner, folder));
        let mut all = params.to_vec();
        all.extend(content.form_field());
        let answer = match content {
            Content::None | Content::Text(_) | Content::Url(_) => {
                self.call("update", Method::Post, &path, &all).await?
            }
            Content::File { path: file, name } => {
                self.upload_form("update", &path, &all, "file", file, name)
                    .await?
            }
        };
        ensure_success("update", &self.absolute(&path), &answer)
    }

    /// Set an item's thumbnail (`field` `thumbnail`) or ArcGIS metadata (`field` `metadata`) from
    /// a file, through `update`.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Transport`] when the file cannot be read.
    pub async fn update_info_file(
        &self,
        owner: &str,
        folder: Option<&str>,
        id: &str,
        field: &str,
        file: &Path,
        name: &str,
    ) -> Result<(), Error> {
        let path = format!("{}/items/{id}/update", user_path(owner, folder));
        let answer = self
            .upload_form(&format!("update {field}"), &path, &[], field, file, name)
            .await?;
        ensure_success("update", &self.absolute(&path), &answer)
    }

    /// Turn an item's delete protection on or off (`protect`, `unprotect`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn protect_item(&self, owner: &str, id: &str, on: bool) -> Result<(), Error> {
        let op = if on { "protect" } else { "unprotect" };
        let path = format!("content/users/{owner}/items/{id}/{op}");
        let answer = self.call(op, Method::Post, &path, &[]).await?;
        ensure_success(op, &self.absolute(&path), &answer)
    }

    /// Delete an item for good. orgpack deletes only what it made itself (temporary exports, a
    /// rolled-back restore's items), so `permanentDelete=true`: on ArcGIS Online a deleted item
    /// would otherwise sit in the recycle bin for 14 days, counted against storage and keeping
    /// its service name taken, so a retried restore could not publish under it. (ArcGIS
    /// Enterprise deletes permanently anyway.)
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn delete_item(&self, owner: &str, id: &str) -> Result<(), Error> {
        self.delete_item_as(owner, id, true).await
    }

    /// `delete` with `permanentDelete` as given ([`Client::delete_item`], and
    /// [`Client::recycle_item`] into the recycle bin).
    pub(crate) async fn delete_item_as(
        &self,
        owner: &str,
        id: &str,
        permanent: bool,
    ) -> Result<(), Error> {
        let path = format!("content/users/{owner}/items/{id}/delete");
        let answer = self
            .call(
                &format!("delete {id}"),
                Method::Post,
                &path,
                &[("permanentDelete", if permanent { "true" } else { "false" })],
            )
            .await?;
        ensure_success("delete", &self.absolute(&path), &answer)
    }

    /// Share an item (as its owner or an administrator): with everyone, the organization and
    /// groups. Returns the groups it could not be shared with.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn share_item(
        &self,
        owner: &str,
        id: &str,
        everyone: bool,
        org: bool,
        groups: &[&str],
    ) -> Result<Vec<String>, Error> {
        self.share_item_with(owner, id, everyone, org, groups, false)
            .await
    }

    /// [`Client::share_item`], with `confirmItemControl` when `confirm_item_control`: what a
    /// shared-update group (`updateitemcontrol`) asks before it takes an item.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn share_item_with(
        &self,
        owner: &str,
        id: &str,
        everyone: bool,
        org: bool,
        groups: &[&str],
        confirm_item_control: bool,
    ) -> Result<Vec<String>, Error> {
        let path = format!("content/users/{owner}/items/{id}/share");
        let groups = if groups.is_empty() {
            " ".to_owned()
        } else {
            groups.join(",")
        };
        let mut params = vec![
            ("everyone", if everyone { "true" } else { "false" }),
            ("org", if org || everyone { "true" } else { "false" }),
            ("groups", groups.as_str()),
        ];
        if confirm_item_control {
            params.push(("confirmItemControl", "true"));
        }
        let answer = self.call("share", Method::Post, &path, &params).await?;
        Ok(crate::org::names_in(&answer, "notSharedWith"))
    }

    /// Move an item to a folder (`None`: the root).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn move_item(
        &self,
        owner: &str,
        id: &str,
        folder_id: Option<&str>,
    ) -> Result<(), Error> {
        let path = format!("content/users/{owner}/items/{id}/move");
        let answer = self
            .call(
                "move",
                Method::Post,
                &path,
                &[("folder", folder_id.unwrap_or("/"))],
            )
            .await?;
        ensure_success("move", &self.absolute(&path), &answer)
    }

    /// Give an item to another user (administrators), into a folder by name (`/`: the root).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn reassign_item(
        &self,
        owner: &str,
        id: &str,
        target_user: &str,
        target_folder_name: &str,
    ) -> Result<(), Error> {
        let path = format!("content/users/{owner}/items/{id}/reassign");
        let answer = self
            .call(
                "reassign",
                Method::Post,
                &path,
                &[
                    ("targetUsername", target_user),
                    ("targetFolderName", target_folder_name),
                ],
            )
            .await?;
        ensure_success("reassign", &self.absolute(&path), &answer)
    }

    /// Create a folder; returns its id.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn create_folder(&self, owner: &str, title: &str) -> Result<String, Error> {
        let path = format!("content/users/{owner}/createFolder");
        let answer = self
            .call("createFolder", Method::Post, &path, &[("title", title)])
            .await?;
        ensure_success("createFolder", &self.absolute(&path), &answer)?;
        answer
            .pointer("/folder/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    "createFolder",
                    &self.absolute(&path),
                    ErrorKind::Decode("no `folder.id` in the answer".into()),
                )
            })
    }

    /// Delete a folder of `owner`, with every item in it (the portal refuses when one of them is
    /// delete-protected).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn delete_folder(&self, owner: &str, folder_id: &str) -> Result<(), Error> {
        let path = format!("content/users/{owner}/{folder_id}/delete");
        let answer = self.call("delete folder", Method::Post, &path, &[]).await?;
        ensure_success("delete folder", &self.absolute(&path), &answer)
    }

    /// Relate two items (`origin` → `destination`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn add_relationship(
        &self,
        owner: &str,
        origin: &str,
        destination: &str,
        relationship_type: &str,
    ) -> Result<(), Error> {
        let edge = [origin, destination, relationship_type];
        self.relationship("addRelationship", owner, edge).await
    }

    /// Remove the relationship `origin` → `destination` of that type.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn delete_relationship(
        &self,
        owner: &str,
        origin: &str,
        destination: &str,
        relationship_type: &str,
    ) -> Result<(), Error> {
        let edge = [origin, destination, relationship_type];
        self.relationship("deleteRelationship", owner, edge).await
    }

    /// `addRelationship` or `deleteRelationship` for `[origin, destination, type]`.
    async fn relationship(&self, op: &str, owner: &str, edge: [&str; 3]) -> Result<(), Error> {
        let path = format!("content/users/{owner}/{op}");
        let [origin, destination, kind] = edge;
        let params = [
            ("originItemId", origin),
            ("destinationItemId", destination),
            ("relationshipType", kind),
        ];
        let answer = self.call(op, Method::Post, &path, &params).await?;
        ensure_success(op, &self.absolute(&path), &answer)
    }

    /// Add a resource at its full path (`images/logo.png`: prefix `images`, file `logo.png`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn add_resource(
        &self,
        owner: &str,
        id: &str,
        resource_path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let (prefix, file_name) = resource_path
            .rsplit_once('/')
            .unwrap_or(("", resource_path));
        let path = format!("content/users/{owner}/items/{id}/addResources");
        let mut params = vec![("fileName", file_name)];
        if !prefix.is_empty() {
            params.push(("resourcesPrefix", prefix));
        }
        let answer = self
            .upload_bytes("addResources", &path, &params, ("file", bytes), file_name)
            .await?;
        ensure_success("addResources", &self.absolute(&path), &answer)
    }

    /// Start exporting a hosted service item (`format`: `File Geodatabase`, `Shapefile`, …).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn export_item(
        &self,
        owner: &str,
        id: &str,
        format: &str,
        title: &str,
        export_parameters: &str,
    ) -> Result<ExportJob, Error> {
        let path = format!("content/users/{owner}/export");
        let mut params = vec![("itemId", id), ("exportFormat", format), ("title", title)];
        if !export_parameters.is_empty() {
            params.push(("exportParameters", export_parameters));
        }
        let answer = self.call("export", Method::Post, &path, &params).await?;
        let url = self.absolute(&path);
        Ok(ExportJob {
            job_id: string_field("export", &url, &answer, "jobId")?,
            export_item_id: string_field("export", &url, &answer, "exportItemId")?,
        })
    }

    /// Start publishing a hosted service from a file item.
    ///
    /// # Errors
    /// As [`Client::call`], and the service's own error when the portal reports one.
    pub async fn publish(
        &self,
        owner: &str,
        item_id: &str,
        file_type: &str,
        publish_parameters: &str,
    ) -> Result<Published, Error> {
        self.publish_with(owner, item_id, file_type, publish_parameters, &[])
            .await
    }

    /// [`Client::publish`] with more parameters (`itemIdToCreate` on ArcGIS Enterprise).
    ///
    /// # Errors
    /// As [`Client::publish`].
    pub async fn publish_with(
        &self,
        owner: &str,
        item_id: &str,
        file_type: &str,
        publish_parameters: &str,
        extra: &[(&str, &str)],
    ) -> Result<Published, Error> {
        let path = format!("content/users/{owner}/publish");
        let mut params = vec![
            ("itemId", item_id),
            ("fileType", file_type),
            ("publishParameters", publish_parameters),
        ];
        params.extend_from_slice(extra);
        let answer = self.call("publish", Method::Post, &path, &params).await?;
        let url = self.absolute(&path);
        let service = answer
            .get("services")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .ok_or_else(|| {
                Error::new(
                    "publish",
                    &url,
                    ErrorKind::Decode("no `services` in the answer".into()),
                )
            })?;
        if let Some(kind) = envelope(service) {
            return Err(Error::new("publish", &url, kind));
        }
        ensure_success("publish", &url, service)?;
        Ok(Published {
            job_id: service
                .get("jobId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            service_item_id: string_field("publish", &url, service, "serviceItemId")?,
            service_url: service
                .get("serviceurl")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Create an empty hosted feature service, or a view when `is_view` (`createService` with
    /// `outputType=featureService`); its layers come from [`Client::add_to_definition`].
    /// `create_parameters` is the JSON of the service (at least `name`); `item_params` are the new
    /// item's properties (`title`, `tags`, `snippet`, `description`, `typeKeywords`).
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Decode`] when the answer lacks the new item's id.
    pub async fn create_service(
        &self,
        owner: &str,
        folder: Option<&str>,
        create_parameters: &str,
        is_view: bool,
        item_params: &[(&str, &str)],
    ) -> Result<Published, Error> {
        let path = format!("{}/createService", user_path(owner, folder));
        let mut params = vec![
            ("createParameters", create_parameters),
            ("outputType", "featureService"),
            ("isView", if is_view { "true" } else { "false" }),
        ];
        params.extend_from_slice(item_params);
        let answer = self
            .call("createService", Method::Post, &path, &params)
            .await?;
        let url = self.absolute(&path);
        ensure_success("createService", &url, &answer)?;
        Ok(Published {
            job_id: None,
            service_item_id: string_field("createService", &url, &answer, "serviceItemId")
                .or_else(|_| string_field("createService", &url, &answer, "itemId"))?,
            service_url: answer
                .get("serviceurl")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Add layers and tables to a hosted service (`addToDefinition` on its admin endpoint:
    /// `…/rest/services/…` becomes `…/rest/admin/services/…`, as on ArcGIS Online).
    /// `definition` is the JSON `{"layers": [...], "tables": [...]}`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn add_to_definition(
        &self,
        service_url: &str,
        definition: &str,
    ) -> Result<(), Error> {
        let url = format!("{}/addToDefinition", admin_url(service_url));
        let answer = self
            .call(
                "addToDefinition",
                Method::Post,
                &url,
                &[("addToDefinition", definition)],
            )
            .await?;
        ensure_success("addToDefinition", &url, &answer)
    }

    /// The number of features in a layer (`<service>/<n>/query?where=1=1&returnCountOnly=true`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn feature_count(&self, layer_url: &str) -> Result<u64, Error> {
        let url = format!("{}/query", layer_url.trim_end_matches('/'));
        let answer = self
            .call(
                "query count",
                Method::Get,
                &url,
                &[("where", "1=1"), ("returnCountOnly", "true")],
            )
            .await?;
        answer.get("count").and_then(Value::as_u64).ok_or_else(|| {
            Error::new(
                "query count",
                &url,
                ErrorKind::Decode("no `count` in the answer".into()),
            )
        })
    }
}
