//! Groups and users (spec/archive-format.md §4.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Access, Descriptor, NamedPart, Owner, PartRef};

/// A portal group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The group id in the source organization.
    pub id: String,
    /// The title; restores map groups by id, then by title.
    pub title: String,
    /// The owner's username.
    pub owner: String,
    /// Who can see the group.
    pub access: Access,
    /// The group JSON exactly as the portal returned it (`community/groups/<id>`).
    pub group: Descriptor,
    /// The group's thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<NamedPart>,
    /// The members, when they could be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<GroupMember>,
    /// The group's content category schema, when it has one (since 1.4.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_schema: Option<serde_json::Value>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// The username.
    pub username: String,
    /// `owner`, `admin` or `member`.
    pub member_type: String,
}

/// A user who owns captured items or groups, or (when the snapshot captured people) any member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The username.
    pub username: String,
    /// The full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// The role (`org_admin`, `org_publisher`, `org_user` or a custom role id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The user JSON as the portal returned it, credentials never included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Descriptor>,
    /// The role's id (`roleId`) when the role is a custom one (or a built-in role with an id such
    /// as Viewer), since 1.4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// The user type (license: `creatorUT`, `viewerUT`, …), since 1.4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// The email, since 1.4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The account is disabled, since 1.4.0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// The profile picture, since 1.4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<NamedPart>,
}

/// Something a backup could not capture: a whole item, group or user, or one part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// What kind of thing failed.
    pub subject: FailureSubject,
    /// The item or group id, or the username.
    pub id: String,
    /// The part that failed (`data`, `resource `a/b.json``, `export`, …); absent when nothing of
    /// it could be captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// Why, as the portal or the network said it (never with credentials).
    pub message: String,
}

/// The kind of thing a [`Failure`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FailureSubject {
    /// An item.
    Item,
    /// A group.
    Group,
    /// A user.
    User,
}

impl Group {
    pub(super) fn push_parts<'a>(&'a self, out: &mut Vec<PartRef<'a>>) {
        let owner = Owner::Group(&self.id);
        out.push(PartRef {
            owner,
            part: "group JSON".into(),
            descriptor: &self.group,
        });
        if let Some(t) = &self.thumbnail {
            out.push(PartRef {
                owner,
                part: "thumbnail".into(),
                descriptor: &t.content,
            });
        }
    }
}
