//! Users, folders and groups.

use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};

impl Client {
    /// A user (`community/users/<u>`): profile, role, privileges, groups.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user(&self, username: &str) -> Result<Value, Error> {
        self.call(
            &format!("user {username}"),
            Method::Get,
            &format!("community/users/{username}"),
            &[],
        )
        .await
    }

    /// Every member of the organization (`portals/self/users`, all pages).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn org_users(&self) -> Result<Vec<Value>, Error> {
        self.pages(
            "organization users",
            "portals/self/users",
            &[("excludeSystemUsers", "true")],
            "users",
        )
        .await
    }

    /// A user's folders (`content/users/<u>`, `folders`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user_folders(&self, username: &str) -> Result<Vec<Value>, Error> {
        let page = self
            .call(
                &format!("folders of {username}"),
                Method::Get,
                &format!("content/users/{username}"),
                &[("num", "1")],
            )
            .await?;
        Ok(page
            .get("folders")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Every item in a user's folder (`None`: the root), all pages.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user_items(
        &self,
        username: &str,
        folder_id: Option<&str>,
    ) -> Result<Vec<Value>, Error> {
        self.user_items_kept(username, folder_id, Some).await
    }

    /// [`Client::user_items`], each item turned into what `keep` makes of it as its page arrives
    /// (a whole organization's listing is never held as JSON values).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user_items_kept<T>(
        &self,
        username: &str,
        folder_id: Option<&str>,
        keep: impl FnMut(Value) -> Option<T>,
    ) -> Result<Vec<T>, Error> {
        let path = match folder_id {
            Some(f) => format!("content/users/{username}/{f}"),
            None => format!("content/users/{username}"),
        };
        self.pages_kept(&format!("items of {username}"), &path, &[], "items", keep)
            .await
    }

    /// The owner's view of an item: `{item, sharing: {access, groups}}`, the authoritative source of
    /// an item's sharing (the item's own groups list shows only what the caller can see).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user_item(&self, owner: &str, id: &str) -> Result<Value, Error> {
        let answer = self
            .call(
                &format!("item {id} of {owner}"),
                Method::Get,
                &format!("content/users/{owner}/items/{id}"),
                &[],
            )
            .await?;
        if answer.get("item").is_none() {
            return Err(Error::new(
                &format!("item {id} of {owner}"),
                &self.absolute(&format!("content/users/{owner}/items/{id}")),
                ErrorKind::Decode("no `item` in the answer".into()),
            ));
        }
        Ok(answer)
    }

    /// A group (`community/groups/<id>`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn group(&self, id: &str) -> Result<Value, Error> {
        self.call(
            &format!("group {id}"),
            Method::Get,
            &format!("community/groups/{id}"),
            &[],
        )
        .await
    }

    /// Every item shared with a group (`content/groups/<id>`, all pages).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn group_content(&self, id: &str) -> Result<Vec<Value>, Error> {
        self.pages(
            &format!("content of group {id}"),
            &format!("content/groups/{id}"),
            &[],
            "items",
        )
        .await
    }

    /// The ids of every item shared with a group (`content/groups/<id>`, all pages), without
    /// holding the items' JSON.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn group_content_ids(&self, id: &str) -> Result<Vec<String>, Error> {
        self.pages_kept(
            &format!("content of group {id}"),
            &format!("content/groups/{id}"),
            &[],
            "items",
            |item| item.get("id").and_then(Value::as_str).map(str::to_owned),
        )
        .await
    }

    /// A group's members: `{owner, admins, users}`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn group_members(&self, id: &str) -> Result<Value, Error> {
        self.call(
            &format!("members of group {id}"),
            Method::Get,
            &format!("community/groups/{id}/users"),
            &[],
        )
        .await
    }

    /// Groups matching a query (`community/groups`, all pages).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn search_groups(&self, query: &str) -> Result<Vec<Value>, Error> {
        self.pages(
            "group search",
            "community/groups",
            &[("q", query)],
            "results",
        )
        .await
    }

    /// Create a group from its properties (`title`, `access`, `tags`, …); returns its id.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn create_group(&self, params: &[(&str, &str)]) -> Result<String, Error> {
        let answer = self
            .call("createGroup", Method::Post, "community/createGroup", params)
            .await?;
        answer
            .pointer("/group/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    "createGroup",
                    &self.absolute("community/createGroup"),
                    ErrorKind::Decode("no `group.id` in the answer".into()),
                )
            })
    }

    /// Delete a group (its owner or an administrator). Items shared with it stay, unshared.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Decode`] when the portal does not say it succeeded.
    pub async fn delete_group(&self, id: &str) -> Result<(), Error> {
        let path = format!("community/groups/{id}/delete");
        let answer = self
            .call(&format!("delete group {id}"), Method::Post, &path, &[])
            .await?;
        if answer.get("success").and_then(Value::as_bool) == Some(true) {
            Ok(())
        } else {
            Err(Error::new(
                "delete group",
                &self.absolute(&path),
                ErrorKind::Decode(format!("the portal did not say it succeeded: {answer}")),
            ))
        }
    }

    /// Add users (members) and administrators (managers) to a group; returns those not added.
    /// Sent in batches of 25, the most the portal takes in one request.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn add_group_users(
        &self,
        id: &str,
        users: &[&str],
        admins: &[&str],
    ) -> Result<Vec<String>, Error> {
        let mut not_added = Vec::new();
        for (field, names) in [("users", users), ("admins", admins)] {
            for batch in names.chunks(GROUP_BATCH) {
                let answer = self
                    .call(
                        &format!("addUsers to group {id}"),
                        Method::Post,
                        &format!("community/groups/{id}/addUsers"),
                        &[(field, &batch.join(","))],
                    )
                    .await?;
                not_added.extend(names_in(&answer, "notAdded"));
            }
        }
        Ok(not_added)
    }

    /// Remove users from a group; returns those not removed (the owner, non-members).
    /// Sent in batches of 25.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn remove_group_users(&self, id: &str, users: &[&str]) -> Result<Vec<String>, Error> {
        let mut not_removed = Vec::new();
        for batch in users.chunks(GROUP_BATCH) {
            let answer = self
                .call(
                    &format!("removeUsers from group {id}"),
                    Method::Post,
                    &format!("community/groups/{id}/removeUsers"),
                    &[("users", &batch.join(","))],
                )
                .await?;
            not_removed.extend(names_in(&answer, "notRemoved"));
        }
        Ok(not_removed)
    }
}

/// Usernames per `addUsers` / `removeUsers` request (the portal's limit).
const GROUP_BATCH: usize = 25;

/// A list of names in an answer (`notAdded`, `notRemoved`, `notSharedWith`, `notUnsharedFrom`);
/// a single string counts as one.
pub(crate) fn names_in(answer: &Value, field: &str) -> Vec<String> {
    match answer.get(field) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(u)) if !u.is_empty() => vec![u.clone()],
        _ => Vec::new(),
    }
}
