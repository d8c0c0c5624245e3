//! What putting an organization back in place needs beyond creating: bringing an item back from
//! the recycle bin, deleting into it, unsharing, and removing resources.

use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::Error;
use crate::write::ensure_success;

impl Client {
    /// The organization's recycle bin (`content/portals/<orgId>?inRecycleBin=true`, all pages;
    /// ArcGIS Online, to administrators): each item's JSON with its owner and `recycledDate`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn recycle_bin(&self, org_id: &str) -> Result<Vec<Value>, Error> {
        self.pages(
            "recycle bin",
            &format!("content/portals/{org_id}"),
            &[("inRecycleBin", "true")],
            "items",
        )
        .await
    }

    /// Bring a recycled item back (`content/users/<owner>/items/<id>/restore`, ArcGIS Online's
    /// recycle bin), into its owner's root folder: id, URL and hosted data as they were.
    ///
    /// # Errors
    /// As [`Client::call`]; the portal's refusal (`success: false`) as an error naming it.
    pub async fn restore_recycled(&self, owner: &str, id: &str) -> Result<(), Error> {
        let path = format!("content/users/{owner}/items/{id}/restore");
        let answer = self
            .call(&format!("restore {id}"), Method::Post, &path, &[])
            .await?;
        ensure_success("restore", &self.absolute(&path), &answer)
    }

    /// Delete an item into the recycle bin where the organization has one
    /// (`permanentDelete=false`); elsewhere deleted for good.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn recycle_item(&self, owner: &str, id: &str) -> Result<(), Error> {
        self.delete_item_as(owner, id, false).await
    }

    /// Stop sharing an item with groups (`unshare`); returns the groups it was not unshared from.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn unshare_item(
        &self,
        owner: &str,
        id: &str,
        groups: &[&str],
    ) -> Result<Vec<String>, Error> {
        let path = format!("content/users/{owner}/items/{id}/unshare");
        let answer = self
            .call(
                "unshare",
                Method::Post,
                &path,
                &[("groups", &groups.join(","))],
            )
            .await?;
        Ok(crate::org::names_in(&answer, "notUnsharedFrom"))
    }

    /// Remove one resource of an item (`removeResources`, `resource` = its full path).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn remove_resource(
        &self,
        owner: &str,
        id: &str,
        resource: &str,
    ) -> Result<(), Error> {
        let path = format!("content/users/{owner}/items/{id}/removeResources");
        let answer = self
            .call(
                "removeResources",
                Method::Post,
                &path,
                &[("resource", resource)],
            )
            .await?;
        ensure_success("removeResources", &self.absolute(&path), &answer)
    }
}
