//! The organization's people beyond the owners of content (spec/archive-format.md §4.2, since
//! 1.4.0): custom roles with their privileges, and the organization's group settings and content
//! category schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a backup captured of the organization's people and settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct People {
    /// Every member of the organization is in `users` (not only the owners of captured content).
    #[serde(default)]
    pub members: bool,
    /// The organization's custom roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// The organization's group settings as `portals/self` shows them (`featuredGroups`,
    /// `basemapGalleryGroupQuery`, `homePageFeaturedContent`, …), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// The organization's content category schema (`[{"title", "categories": [...]}]`), when it
    /// has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_schema: Option<serde_json::Value>,
}

/// A custom role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Its id in the source organization (what members' `roleId` names).
    pub id: String,
    /// Its name, unique in an organization.
    pub name: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The privileges it grants, sorted.
    pub privileges: Vec<String>,
}
