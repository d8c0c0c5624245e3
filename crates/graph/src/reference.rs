//! What a reference is.

use serde::Serialize;

/// What kind of thing a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RefKind {
    /// Another portal item, by id: a dependency.
    Item,
    /// An ArcGIS Server service (feature, map, image, scene, vector tile …), by URL.
    Service,
    /// A hosted service referred to by name only (join view sources); its item is found online
    /// through `<view>/sources`.
    ServiceName,
    /// A portal group, by id.
    Group,
    /// The source organization's portal URL (`https://myorg.maps.arcgis.com`).
    PortalUrl,
    /// The source organization's id (`97KLIFOSt5CxbiRI`).
    OrgId,
    /// One of the item's own resources, by path (`images/logo.png`).
    Resource,
    /// The item's own id: it must become the new item's id.
    SelfRef,
    /// A folder of the owner's content: rewritten or cleared, never a dependency.
    Folder,
}

/// One reference found in portal content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    /// What it points at.
    pub kind: RefKind,
    /// The id, URL or path as written (service URLs without the layer index).
    pub value: String,
    /// The layer or table index, for service URLs that name one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// Where: a JSON path from the document's root (`$.operationalLayers[0].itemId`), prefixed
    /// with the part it is in (`data`, `item`, `resource config/config.json`).
    pub path: String,
    /// Found inside a longer string (HTML, code, a URL with parameters) rather than as a whole value.
    pub in_text: bool,
    /// Esri-owned or otherwise outside any organization (basemaps, app templates, embeds): record
    /// it, but a restore keeps it as it is.
    pub external: bool,
}

impl Reference {
    pub(crate) fn new(kind: RefKind, value: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
            layer: None,
            path: path.into(),
            in_text: false,
            external: false,
        }
    }

    pub(crate) fn external(mut self) -> Self {
        self.external = true;
        self
    }

    pub(crate) fn in_text(mut self) -> Self {
        self.in_text = true;
        self
    }
}
