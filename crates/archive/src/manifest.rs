//! Snapshot manifests: what one backup run captured (spec/archive-format.md §4).
//!
//! A manifest is a JSON document stored at `snapshots/<sha256>.json`, named by the digest of its
//! bytes. It references the content it describes by [`Descriptor`]s; the content itself lives in
//! blobs. Readers ignore fields they do not know.

mod group;
mod item;
pub mod layers;
mod people;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

pub use group::{Failure, FailureSubject, Group, GroupMember, User};
pub use item::{
    Access, Dependency, DependencyKind, Direction, Folder, FoundIn, GroupRef, Item, NamedPart,
    Obtained, Payload, PayloadField, PayloadKind, PayloadLayer, Relationship, Resource, Sharing,
};
pub use layers::{ItemLayer, ItemPage, ItemPageDoc};
pub use people::{People, Role};
pub use validate::{check_relative_path, is_portal_id};

/// One backup run: where it came from, what was selected, and every item, group and user captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The format version the manifest was written with (`1.0.0`).
    pub format_version: String,
    /// When the backup started, RFC 3339 in UTC (`2026-11-26T02:00:00Z`).
    pub created: String,
    /// The program that wrote the snapshot.
    pub tool: Tool,
    /// The organization the content came from.
    pub source: Source,
    /// What the user asked to back up.
    pub selection: Selection,
    /// The snapshot this one was taken incrementally against, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// Free-form labels given by the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Every item captured, in a stable order (by id). A 2.x manifest stores them in
    /// `itemLayers` instead; reading it fills this list from the layers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// (2.0.0) Where the items are stored: layers of item pages, oldest first (§4.6). Empty in
    /// 1.x manifests, which hold their items inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_layers: Vec<ItemLayer>,
    /// Every group that selected items are shared with or that was selected.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// The users who own captured items or groups; every member when `people.members`.
    #[serde(default)]
    pub users: Vec<User>,
    /// What was captured of the organization's people and settings (since 1.4.0); absent when
    /// only the owners of content were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<People>,
    /// What could not be captured, and why (since 1.1.0). A snapshot with failures is complete
    /// for everything else; the next backup fetches what is listed here again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Extension data: reverse-DNS keys, string values. Unknown keys are ignored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A reference to content stored in blobs: the whole content's digest and size, and, for content
/// cut into chunks, the digest of its chunk list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// SHA-256 of the whole uncompressed content. Without `chunks`, also the blob's name.
    pub digest: Digest,
    /// Length of the whole uncompressed content, in bytes.
    pub size: u64,
    /// The blob holding the chunk list, when the content is stored as several chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Digest>,
}

/// The program that wrote a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// `orgpack`, or another writer's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The organization a snapshot was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The portal's base URL (`https://myorg.maps.arcgis.com`, `https://gis.example.com/portal`).
    pub portal_url: String,
    /// ArcGIS Online or ArcGIS Enterprise.
    pub portal_kind: PortalKind,
    /// The organization id (`portals/self` `id`).
    pub org_id: String,
    /// The organization's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// The user the backup signed in as.
    pub user: String,
    /// The portal's REST API version (`currentVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
    /// (2.1.0) Other base URLs of the same portal that its content may use in links: the
    /// organization's own URL (`https://<urlKey>.<customBaseUrl>`) when `portal_url` is another,
    /// such as `https://www.arcgis.com`. A restore points links on any of them at the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub portal_aliases: Vec<String>,
}

/// The kind of portal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum PortalKind {
    /// ArcGIS Online.
    #[default]
    Online,
    /// ArcGIS Enterprise (Portal for ArcGIS).
    Enterprise,
}

/// What the user asked to back up. Selections combine: the snapshot holds the union, plus the
/// dependency closure unless `includeDependencies` is false.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    /// The whole organization.
    #[serde(default)]
    pub all: bool,
    /// Items owned by these users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    /// Items in these folders (`owner/folder`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
    /// Items shared with these groups (ids), and the groups themselves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Items matching these portal search queries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<String>,
    /// These items (ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Whether the dependency closure was added.
    #[serde(default = "yes")]
    pub include_dependencies: bool,
    /// How hosted feature services were captured.
    #[serde(default)]
    pub export: ExportMode,
}

fn yes() -> bool {
    true
}

/// How hosted feature layers are captured.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ExportMode {
    /// Exported to a File Geodatabase.
    #[default]
    Fgdb,
    /// Exported to a shapefile zip.
    Shapefile,
    /// Not exported: the service definition and item only.
    Reference,
}

impl Snapshot {
    /// Every descriptor in the snapshot, with a label saying where it is used.
    #[must_use]
    pub fn parts(&self) -> Vec<PartRef<'_>> {
        let mut out = Vec::new();
        for (l, layer) in self.item_layers.iter().enumerate() {
            for (p, page) in layer.pages.iter().enumerate() {
                out.push(PartRef {
                    owner: Owner::Manifest,
                    part: format!("item layer {l} page {p}"),
                    descriptor: &page.content,
                });
            }
        }
        for item in &self.items {
            item.push_parts(&mut out);
        }
        for group in &self.groups {
            group.push_parts(&mut out);
        }
        for user in &self.users {
            if let Some(d) = &user.user {
                out.push(PartRef {
                    owner: Owner::User(&user.username),
                    part: "user".into(),
                    descriptor: d,
                });
            }
            if let Some(t) = &user.thumbnail {
                out.push(PartRef {
                    owner: Owner::User(&user.username),
                    part: "thumbnail".into(),
                    descriptor: &t.content,
                });
            }
        }
        out
    }

    /// The manifest without its items: what a 2.x manifest file holds beside `itemLayers`.
    #[must_use]
    pub fn without_items(&self) -> Snapshot {
        let Snapshot {
            format_version,
            created,
            tool,
            source,
            selection,
            parent,
            tags,
            items: _,
            item_layers,
            groups,
            users,
            people,
            failures,
            annotations,
        } = self;
        Snapshot {
            format_version: format_version.clone(),
            created: created.clone(),
            tool: tool.clone(),
            source: source.clone(),
            selection: selection.clone(),
            parent: *parent,
            tags: tags.clone(),
            items: Vec::new(),
            item_layers: item_layers.clone(),
            groups: groups.clone(),
            users: users.clone(),
            people: people.clone(),
            failures: failures.clone(),
            annotations: annotations.clone(),
        }
    }

    /// Whether `stored` (a manifest as parsed from its file) is this snapshot: equal, or for a
    /// snapshot whose items are in layers, equal in everything but the items it leaves out.
    #[must_use]
    pub fn is_stored_as(&self, stored: &Snapshot) -> bool {
        if self.item_layers.is_empty() {
            return self == stored;
        }
        stored.items.is_empty() && self.without_items() == *stored
    }

    /// The item with this id: a binary search when the items are in id order (as a 2.x
    /// snapshot is read, and as orgpack has always written them), else a scan.
    #[must_use]
    pub fn item(&self, id: &str) -> Option<&Item> {
        if let Ok(k) = self.items.binary_search_by(|i| i.id.as_str().cmp(id)) {
            return Some(&self.items[k]);
        }
        if self.items.is_sorted_by(|a, b| a.id < b.id) {
            return None;
        }
        self.items.iter().find(|i| i.id == id)
    }

    /// The sum of the sizes of all distinct content in the snapshot.
    #[must_use]
    pub fn total_size(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        self.parts()
            .into_iter()
            .filter(|p| seen.insert(p.descriptor.digest))
            .map(|p| p.descriptor.size)
            .sum()
    }
}

/// Where a descriptor is used in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// The manifest itself (its item pages).
    Manifest,
    /// An item, by id.
    Item(&'a str),
    /// A group, by id.
    Group(&'a str),
    /// A user, by name.
    User(&'a str),
}

impl std::fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Manifest => write!(f, "the manifest's"),
            Self::Item(id) => write!(f, "item `{id}`"),
            Self::Group(id) => write!(f, "group `{id}`"),
            Self::User(name) => write!(f, "user `{name}`"),
        }
    }
}

/// One descriptor of a snapshot and where it is used.
#[derive(Debug, Clone)]
pub struct PartRef<'a> {
    /// The item, group or user it belongs to.
    pub owner: Owner<'a>,
    /// Which part (`item`, `data`, `resource `images/a.png``, `payload `x.zip``, …).
    pub part: String,
    /// The content.
    pub descriptor: &'a Descriptor,
}

impl std::fmt::Display for PartRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.owner, self.part)
    }
}
