//! The organization's people and settings: custom roles and their privileges, creating members
//! (ArcGIS Online invitations, ArcGIS Enterprise built-in accounts), a member's profile, role and
//! thumbnail, a group's owner, thumbnail and category schema, the organization's settings and
//! content category schema.

use serde_json::{Value, json};

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};
use crate::write::ensure_success;

/// A member to create in a target organization.
#[derive(Debug, Clone, Default)]
pub struct NewMember<'a> {
    /// The username.
    pub username: &'a str,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// Full name.
    pub full_name: &'a str,
    /// Email (the portal requires one).
    pub email: &'a str,
    /// Description.
    pub description: &'a str,
    /// A built-in role (`org_admin`, `org_publisher`, `org_user`) or a role id.
    pub role: &'a str,
    /// The user type (`creatorUT`, `viewerUT`, …).
    pub user_type: &'a str,
}

impl Client {
    /// The organization's roles (`portals/self/roles`, all pages): built-in and custom.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn roles(&self) -> Result<Vec<Value>, Error> {
        self.pages("roles", "portals/self/roles", &[], "roles")
            .await
    }

    /// A role's privileges (`portals/self/roles/<id>/privileges`), sorted.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn role_privileges(&self, id: &str) -> Result<Vec<String>, Error> {
        let answer = self
            .call(
                &format!("privileges of role {id}"),
                Method::Get,
                &format!("portals/self/roles/{id}/privileges"),
                &[],
            )
            .await?;
        let mut out: Vec<String> = answer
            .get("privileges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Create a custom role with its privileges; returns its id.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Decode`] when the answer has no id.
    pub async fn create_role(
        &self,
        name: &str,
        description: &str,
        privileges: &[String],
    ) -> Result<String, Error> {
        let path = "portals/self/createRole";
        let answer = self
            .call(
                &format!("createRole {name}"),
                Method::Post,
                path,
                &[("name", name), ("description", description)],
            )
            .await?;
        let id = answer
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    "createRole",
                    &self.absolute(path),
                    ErrorKind::Decode("no `id` in the answer".into()),
                )
            })?;
        let set = format!("portals/self/roles/{id}/setPrivileges");
        let privileges = json!({ "privileges": privileges }).to_string();
        let answer = self
            .call(
                &format!("setPrivileges of role {name}"),
                Method::Post,
                &set,
                &[("privileges", &privileges)],
            )
            .await?;
        ensure_success("setPrivileges", &self.absolute(&set), &answer)?;
        Ok(id)
    }

    /// Invite members into an ArcGIS Online organization (`portals/self/invite`), accepted
    /// without email (`message` none); returns the usernames not invited.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn invite(&self, members: &[NewMember<'_>]) -> Result<Vec<String>, Error> {
        let invitations: Vec<Value> = members
            .iter()
            .map(|m| {
                json!({
                    "username": m.username, "firstname": m.first_name, "lastname": m.last_name,
                    "fullname": m.full_name, "email": m.email, "role": m.role,
                    "userLicenseType": m.user_type, "description": m.description,
                })
            })
            .collect();
        let list = json!({ "invitations": invitations }).to_string();
        let answer = self
            .call(
                "invite",
                Method::Post,
                "portals/self/invite",
                &[("invitationList", &list), ("message", "none")],
            )
            .await?;
        Ok(answer
            .get("notInvited")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect())
    }

    /// Create a built-in account on ArcGIS Enterprise
    /// (`<portal>/portaladmin/security/users/createUser`, provider `arcgis`).
    ///
    /// # Errors
    /// As [`Client::call`]; the admin API's `{"status": "error"}` as [`ErrorKind::Portal`].
    pub async fn create_user(&self, member: &NewMember<'_>, password: &str) -> Result<(), Error> {
        let url = format!(
            "{}/portaladmin/security/users/createUser",
            self.url().root.trim_end_matches('/')
        );
        let answer = self
            .call(
                &format!("createUser {}", member.username),
                Method::Post,
                &url,
                &[
                    ("username", member.username),
                    ("password", password),
                    ("firstname", member.first_name),
                    ("lastname", member.last_name),
                    ("fullname", member.full_name),
                    ("email", member.email),
                    ("description", member.description),
                    ("role", member.role),
                    ("userLicenseTypeId", member.user_type),
                    ("provider", "arcgis"),
                ],
            )
            .await?;
        if answer.get("status").and_then(Value::as_str) == Some("error") {
            let messages: Vec<String> = answer
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect();
            return Err(Error::new(
                "createUser",
                &url,
                ErrorKind::Portal {
                    code: answer.get("code").and_then(Value::as_i64).unwrap_or(400),
                    message: messages.join("; "),
                    details: Vec::new(),
                },
            ));
        }
        Ok(())
    }

    /// Update a member's profile (`community/users/<u>/update`): `fullName`, `description`,
    /// `tags`, `culture`, `region`, … as given.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn update_user(&self, username: &str, params: &[(&str, &str)]) -> Result<(), Error> {
        let path = format!("community/users/{username}/update");
        let answer = self
            .call(
                &format!("update user {username}"),
                Method::Post,
                &path,
                params,
            )
            .await?;
        ensure_success("update user", &self.absolute(&path), &answer)
    }

    /// Give a member a role (`portals/self/updateuserrole`): a built-in role or a role id.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn set_user_role(&self, username: &str, role: &str) -> Result<(), Error> {
        let path = "portals/self/updateuserrole";
        let answer = self
            .call(
                &format!("updateuserrole {username}"),
                Method::Post,
                path,
                &[("user", username), ("role", role)],
            )
            .await?;
        ensure_success("updateuserrole", &self.absolute(path), &answer)
    }

    /// Set a member's or a group's thumbnail through its `update` (`community/users/<u>/update`
    /// or `community/groups/<id>/update`, file field `thumbnail`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn set_thumbnail(
        &self,
        update_path: &str,
        bytes: Vec<u8>,
        name: &str,
    ) -> Result<(), Error> {
        let answer = self
            .upload_bytes(
                "update thumbnail",
                update_path,
                &[],
                ("thumbnail", bytes),
                name,
            )
            .await?;
        ensure_success("update thumbnail", &self.absolute(update_path), &answer)
    }

    /// Hand a group to another member (`community/groups/<id>/reassign`, `targetUsername`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn reassign_group(&self, id: &str, to: &str) -> Result<(), Error> {
        let path = format!("community/groups/{id}/reassign");
        let answer = self
            .call(
                &format!("reassign group {id}"),
                Method::Post,
                &path,
                &[("targetUsername", to)],
            )
            .await?;
        ensure_success("reassign group", &self.absolute(&path), &answer)
    }

    /// Make members managers (`admins`) and managers plain members (`users`):
    /// `community/groups/<id>/updateUsers`, one request for each list that is not empty.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn update_group_users(
        &self,
        id: &str,
        admins: &[&str],
        users: &[&str],
    ) -> Result<(), Error> {
        let path = format!("community/groups/{id}/updateUsers");
        for (field, names) in [("admins", admins), ("users", users)] {
            if !names.is_empty() {
                self.call(
                    &format!("updateUsers of group {id}"),
                    Method::Post,
                    &path,
                    &[(field, &names.join(","))],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Update a group's properties (`community/groups/<id>/update`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn update_group(&self, id: &str, params: &[(&str, &str)]) -> Result<(), Error> {
        let path = format!("community/groups/{id}/update");
        let answer = self
            .call(&format!("update group {id}"), Method::Post, &path, params)
            .await?;
        ensure_success("update group", &self.absolute(&path), &answer)
    }

    /// A category schema: the organization's (`group` `None`, `portals/self/categorySchema`)
    /// or a group's (`community/groups/<id>/categorySchema`); the list, empty when none.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn category_schema(&self, group: Option<&str>) -> Result<Value, Error> {
        let path = group.map_or_else(
            || "portals/self/categorySchema".to_owned(),
            |g| format!("community/groups/{g}/categorySchema"),
        );
        let answer = self.call("categorySchema", Method::Get, &path, &[]).await?;
        Ok(answer
            .get("categorySchema")
            .cloned()
            .unwrap_or_else(|| json!([])))
    }

    /// Replace a category schema (`assignCategorySchema` of the organization or a group).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn assign_category_schema(
        &self,
        group: Option<&str>,
        schema: &Value,
    ) -> Result<(), Error> {
        let path = group.map_or_else(
            || "portals/self/assignCategorySchema".to_owned(),
            |g| format!("community/groups/{g}/assignCategorySchema"),
        );
        let body = json!({ "categorySchema": schema }).to_string();
        let answer = self
            .call(
                "assignCategorySchema",
                Method::Post,
                &path,
                &[("categorySchema", &body)],
            )
            .await?;
        ensure_success("assignCategorySchema", &self.absolute(&path), &answer)
    }

    /// Change organization settings (`portals/self/update`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn update_portal(&self, params: &[(&str, &str)]) -> Result<(), Error> {
        let path = "portals/self/update";
        let answer = self
            .call("update organization", Method::Post, path, params)
            .await?;
        ensure_success("update organization", &self.absolute(path), &answer)
    }
}
