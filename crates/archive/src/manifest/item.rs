//! Items and what is recorded about each (spec/archive-format.md §4.2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Descriptor, Owner, PartRef};

/// One portal item and everything needed to rebuild it elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// The item id in the source organization (32 lowercase hex digits).
    pub id: String,
    /// The item type (`Web Map`, `Feature Service`, …).
    #[serde(rename = "type")]
    pub item_type: String,
    /// The title.
    pub title: String,
    /// The owner's username.
    pub owner: String,
    /// The owner's folder, absent for the root folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<Folder>,
    /// Last modification, milliseconds since the Unix epoch, as the portal reports it.
    pub modified: i64,
    /// The item's URL, for service and URL items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The item JSON exactly as the portal returned it (`content/items/<id>`, or the same JSON in
    /// the owner's view `content/users/<owner>/items/<id>`).
    pub item: Descriptor,
    /// The item's data (`content/items/<id>/data`): JSON, text or a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<NamedPart>,
    /// The thumbnail image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<NamedPart>,
    /// The ArcGIS metadata document (`metadata.xml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Descriptor>,
    /// Every item resource, with its full path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    /// Who the item is shared with.
    pub sharing: Sharing,
    /// Portal relationships (`Map2Service`, `Survey2Service`, …) in both directions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<Relationship>,
    /// Everything the item depends on, and how each dependency was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Exported or downloaded files that hold the item's data (File Geodatabase, shapefile, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<Payload>,
    /// Extension data: reverse-DNS keys, string values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A folder of the owner's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Folder {
    /// The folder id in the source organization.
    pub id: String,
    /// The folder's title.
    pub title: String,
}

/// Content with the file name the portal gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamedPart {
    /// The file name (no directory part), when the portal gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The content.
    #[serde(flatten)]
    pub content: Descriptor,
}

/// An item resource (`content/items/<id>/resources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The full resource path, `/`-separated, never flattened (`images/logo.png`).
    pub path: String,
    /// The content.
    #[serde(flatten)]
    pub content: Descriptor,
}

/// Who an item is shared with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sharing {
    /// The item's access level.
    pub access: Access,
    /// The groups the item is shared with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRef>,
}

/// An item's or group's access level.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Access {
    /// Only the owner (and administrators).
    #[default]
    Private,
    /// Shared with groups only.
    Shared,
    /// The whole organization.
    Org,
    /// Everyone.
    Public,
}

/// A group by id and title, so a restore can map it by either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    /// The group id in the source organization.
    pub id: String,
    /// The group's title.
    pub title: String,
}

/// A portal relationship between two items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The relationship type (`Map2Service`, `Survey2Service`, `Service2Data`, …).
    pub relationship_type: String,
    /// `forward` when this item is the origin, `reverse` when it is the destination.
    pub direction: Direction,
    /// The other item's id.
    pub item_id: String,
}

/// The direction of a relationship, seen from the item that records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// This item is the origin.
    Forward,
    /// This item is the destination.
    Reverse,
}

/// Something an item depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// What kind of thing is referenced.
    pub kind: DependencyKind,
    /// The item id, group id or URL referenced.
    pub target: String,
    /// The item behind the target, when known (for service URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// Where the reference was found.
    pub found_in: FoundIn,
    /// The JSON path, resource path or relationship type that holds the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The target lies outside the source organization and was not captured.
    #[serde(default)]
    pub external: bool,
}

/// The kind of a dependency's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DependencyKind {
    /// Another item, by id.
    Item,
    /// A service URL (feature, map, image, scene or vector tile service, with layer index).
    Service,
    /// A group, by id.
    Group,
    /// Any other URL.
    Url,
}

/// Where a dependency was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FoundIn {
    /// The item JSON.
    Item,
    /// The item's data.
    Data,
    /// An item resource.
    Resource,
    /// A portal relationship.
    Relationship,
    /// A view's source service.
    ViewSource,
}

/// A file that holds an item's data outside the item itself: an export of a hosted service, the
/// service's original source file, or a downloaded file item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The file name (no directory part).
    pub file_name: String,
    /// What kind of file it is.
    pub kind: PayloadKind,
    /// How it was obtained.
    pub obtained: Obtained,
    /// The item the file came from when it is not the item itself (the original source item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_item: Option<String>,
    /// The content.
    #[serde(flatten)]
    pub content: Descriptor,
    /// What orgpack-payload read from the file: layers with geometry types and feature counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<PayloadLayer>,
}

/// The kind of a payload file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PayloadKind {
    /// A zipped File Geodatabase.
    FileGeodatabase,
    /// A zipped shapefile.
    Shapefile,
    /// An ArcGIS service definition (`.sd`).
    ServiceDefinition,
    /// Comma-separated values.
    Csv,
    /// GeoJSON.
    GeoJson,
    /// A Microsoft Excel workbook.
    Excel,
    /// The definition of a hosted feature layer view (since 1.2.0): JSON `{"admin": <the admin
    /// service definition, every layer with its adminLayerInfo.viewLayerDefinition>, "sources":
    /// <the services it reads from>}`. Restore recreates the view on the restored source.
    ViewDefinition,
    /// The definition of a hosted feature service (since 1.3.0): JSON `{"admin": <the admin
    /// service definition: the service's properties, every layer and table defined whole>}`,
    /// captured with its export. Restore rebuilds the service from it (every layer and table
    /// under its own id, its settings) and loads the export's data into it.
    FeatureServiceDefinition,
    /// The definition of a hosted tile layer or vector tile layer (since 2.2.0): JSON
    /// `{"service": <the MapServer or VectorTileServer resource: its tiling scheme, levels and
    /// scales>}`. Restore publishes the layer again from its restored feature layer (the item's
    /// `Service2Service` relationship, reverse) with those scales.
    TileLayerDefinition,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// How a payload was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Obtained {
    /// Exported from the hosted service during this backup: the service's current data.
    FreshExport,
    /// The file the service was originally published from: possibly older than the service.
    OriginalSource,
    /// The item's own file, downloaded.
    Download,
}

/// A layer or table found in a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayloadLayer {
    /// The layer's or table's id in its service (the layers of a `featureServiceDefinition` or
    /// `viewDefinition`, since 1.3.0); absent for what a file holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The layer or table name.
    pub name: String,
    /// The geometry type (`esriGeometryPoint`, `Polygon`, …), absent for tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<String>,
    /// The number of features or rows, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_count: Option<u64>,
    /// The fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<PayloadField>,
}

/// A field of a payload layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayloadField {
    /// The field name.
    pub name: String,
    /// The field type as the file declares it.
    #[serde(rename = "type")]
    pub field_type: String,
}

impl Item {
    /// The descriptors of every part of the item, in a stable order.
    pub fn clone_parts(&self, out: &mut Vec<Descriptor>) {
        let mut refs = Vec::new();
        self.push_parts(&mut refs);
        out.extend(refs.into_iter().map(|p| *p.descriptor));
    }

    pub(crate) fn push_parts<'a>(&'a self, out: &mut Vec<PartRef<'a>>) {
        let owner = Owner::Item(&self.id);
        let mut push = |part: String, descriptor: &'a Descriptor| {
            out.push(PartRef {
                owner,
                part,
                descriptor,
            });
        };
        push("item JSON".into(), &self.item);
        if let Some(d) = &self.data {
            push("data".into(), &d.content);
        }
        if let Some(t) = &self.thumbnail {
            push("thumbnail".into(), &t.content);
        }
        if let Some(m) = &self.metadata {
            push("metadata".into(), m);
        }
        for r in &self.resources {
            push(format!("resource `{}`", r.path), &r.content);
        }
        for p in &self.payloads {
            push(format!("payload `{}`", p.file_name), &p.content);
        }
    }
}
