//! What inspecting a payload reports.

use serde::Serialize;

/// The kind of a payload file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A zipped File Geodatabase (`NAME.gdb/` inside a zip).
    FileGeodatabase,
    /// A zipped shapefile (or several).
    Shapefile,
    /// An ArcGIS service definition (`.sd`, a 7-Zip archive).
    ServiceDefinition,
    /// GeoJSON.
    GeoJson,
    /// Comma-separated values.
    Csv,
    /// A Microsoft Excel workbook.
    Excel,
    /// A zip of something else.
    Zip,
    /// A PDF document.
    Pdf,
    /// An image (PNG, JPEG, GIF, TIFF).
    Image,
    /// A SQLite database (mobile geodatabase, GeoPackage).
    Sqlite,
    /// Other JSON.
    Json,
    /// Anything else.
    Other,
}

/// A layer or table found in a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    /// The layer or table name.
    pub name: String,
    /// The geometry type (`Point`, `Polyline`, `Polygon`, `Multipoint`, `MultiPatch`); absent for tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<String>,
    /// The number of features or rows.
    pub feature_count: u64,
    /// The spatial reference's name, when the file gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<String>,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

/// A field of a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The field name.
    pub name: String,
    /// The type, as the Esri field type name (`esriFieldTypeString`, …) where it maps to one.
    #[serde(rename = "type")]
    pub field_type: String,
}

/// What a payload holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// What kind of file it is.
    pub kind: Kind,
    /// Its layers and tables (empty for plain files).
    pub layers: Vec<Layer>,
    /// Things worth a look that do not stop the file being read (an empty layer, stray zip
    /// entries, a part that could not be read).
    pub warnings: Vec<String>,
    /// The service a service definition publishes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceInfo>,
    /// The files an archive (a service definition) holds, with their sizes, in archive order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<Entry>,
}

/// A file inside an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its path inside the archive (`/`-separated).
    pub name: String,
    /// Its size, as the archive declares it.
    pub size: u64,
}

/// The service a service definition publishes (its `serviceconfiguration.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// The service name.
    pub name: String,
    /// The service type: `MapServer`, `FeatureServer`, `ImageServer`, `GPServer` …
    #[serde(rename = "type")]
    pub service_type: String,
    /// The server folder, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

impl Summary {
    pub(crate) fn plain(kind: Kind) -> Self {
        Self {
            kind,
            layers: Vec::new(),
            warnings: Vec::new(),
            service: None,
            entries: Vec::new(),
        }
    }

    /// Add a warning for every empty layer.
    pub(crate) fn warn_empty(&mut self) {
        for l in &self.layers {
            if l.feature_count == 0 {
                self.warnings.push(format!("layer `{}` is empty", l.name));
            }
        }
    }
}
