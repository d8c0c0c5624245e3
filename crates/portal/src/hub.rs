//! What ArcGIS Hub does beside the portal when it creates a site on ArcGIS Online: the site item
//! registered as an application (`oauth2/registerApp`, its `client_id` the site's `clientId`),
//! and its hostnames entered in Hub's domain service (`<hub>/api/v3/domains`, the Hub API of the
//! organization's environment: `https://hub.arcgis.com` for ArcGIS Online), which is how a
//! request to `<subdomain>-<org>.hub.arcgis.com` finds the site. Requests to the domain service
//! carry the portal's token in an `Authorization` header, as Esri's hub.js sends them. ArcGIS
//! Enterprise has no domain service: its sites are found by their `hubsubdomain|<subdomain>`
//! typeKeyword.

use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};

/// The domain service of the Hub API at `hub` (`https://hub.arcgis.com`).
fn domains_url(hub: &str) -> String {
    format!("{}/api/v3/domains", hub.trim_end_matches('/'))
}

/// The domain service's answer as an error: its `{"error": {"title", "detail"}}`.
fn hub_error(call: &str, url: &str, status: u16, body: &Value) -> Error {
    let text = |k: &str| body["error"][k].as_str().unwrap_or_default().to_owned();
    Error::new(
        call,
        url,
        ErrorKind::Portal {
            code: i64::from(status),
            message: if text("title").is_empty() {
                format!("HTTP {status}")
            } else {
                text("title")
            },
            details: vec![text("detail")]
                .into_iter()
                .filter(|d| !d.is_empty())
                .collect(),
        },
    )
}

impl Client {
    /// Register item `item` as a browser application with these redirect URIs: its `client_id`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn register_app(
        &self,
        item: &str,
        redirect_uris: &[String],
    ) -> Result<String, Error> {
        let uris = serde_json::to_string(redirect_uris).unwrap_or_default();
        let answer = self
            .call(
                "registerApp",
                Method::Post,
                "oauth2/registerApp",
                &[
                    ("itemId", item),
                    ("appType", "browser"),
                    ("redirect_uris", uris.as_str()),
                ],
            )
            .await?;
        answer["client_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    "registerApp",
                    &self.absolute("oauth2/registerApp"),
                    ErrorKind::Decode("no client_id in the answer".into()),
                )
            })
    }

    /// The `client_id` item `item` (owned by `owner`) is registered under, when it is an
    /// application (`registeredAppInfo`).
    ///
    /// # Errors
    /// As [`Client::call`], but for an item that is not registered (`None`).
    pub async fn registered_app(&self, owner: &str, item: &str) -> Result<Option<String>, Error> {
        let path = format!("content/users/{owner}/items/{item}/registeredAppInfo");
        match self
            .call("registeredAppInfo", Method::Get, &path, &[])
            .await
        {
            Ok(app) => Ok(app["client_id"].as_str().map(str::to_owned)),
            Err(e) if matches!(&e.kind, ErrorKind::Portal { code: 400, message, .. } if message.contains("not registered")) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The domain entry of `hostname` in the domain service of `hub`, when there is one.
    ///
    /// # Errors
    /// As [`Client::call`]; the service's error for anything but 200 or 404.
    pub async fn hub_domain(&self, hub: &str, hostname: &str) -> Result<Option<Value>, Error> {
        let url = format!("{}/{hostname}", domains_url(hub));
        let (status, body) = self
            .json_request("hub domain", reqwest::Method::GET, &url, None)
            .await?;
        match status {
            200..=299 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(hub_error("hub domain", &url, status, &body)),
        }
    }

    /// The domain entries of site `site`.
    ///
    /// # Errors
    /// As [`Client::hub_domain`].
    pub async fn hub_domains_of_site(&self, hub: &str, site: &str) -> Result<Vec<Value>, Error> {
        let url = format!("{}?siteId={site}", domains_url(hub));
        let (status, body) = self
            .json_request("hub domains", reqwest::Method::GET, &url, None)
            .await?;
        if !(200..300).contains(&status) {
            return Err(hub_error("hub domains", &url, status, &body));
        }
        Ok(body.as_array().cloned().unwrap_or_default())
    }

    /// Enter a domain (`hostname`, `siteId`, `siteTitle`, `orgId`, `orgKey`, `orgTitle`,
    /// `clientKey`, `sslOnly`) in the domain service of `hub`: the entry made.
    ///
    /// # Errors
    /// As [`Client::hub_domain`].
    pub async fn add_hub_domain(&self, hub: &str, entry: &Value) -> Result<Value, Error> {
        let url = domains_url(hub);
        let (status, body) = self
            .json_request("add hub domain", reqwest::Method::POST, &url, Some(entry))
            .await?;
        if !(200..300).contains(&status) {
            return Err(hub_error("add hub domain", &url, status, &body));
        }
        Ok(body)
    }

    /// Remove entry `id` from the domain service of `hub`.
    ///
    /// # Errors
    /// As [`Client::hub_domain`].
    pub async fn remove_hub_domain(&self, hub: &str, id: &str) -> Result<(), Error> {
        let url = format!("{}/{id}", domains_url(hub));
        let (status, body) = self
            .json_request("remove hub domain", reqwest::Method::DELETE, &url, None)
            .await?;
        if !(200..300).contains(&status) {
            return Err(hub_error("remove hub domain", &url, status, &body));
        }
        Ok(())
    }
}
