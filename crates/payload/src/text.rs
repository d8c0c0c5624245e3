//! Text payloads read as streams: CSV (rows, columns, coordinate columns) and GeoJSON (features,
//! geometry types, properties), in memory that does not grow with the file.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::summary::{Field, Kind, Layer, Summary};

/// Column name pairs that hold coordinates, as ArcGIS recognizes them when publishing a CSV.
const COORDINATE_PAIRS: &[(&str, &str)] = &[
    ("x", "y"),
    ("lon", "lat"),
    ("long", "lat"),
    ("longitude", "latitude"),
    ("point_x", "point_y"),
    ("easting", "northing"),
];

/// The (x, y) column positions of the first pair of [`COORDINATE_PAIRS`] the headers hold
/// (names compared case-insensitively).
pub(crate) fn coordinate_columns(headers: &[String]) -> Option<(usize, usize)> {
    let position = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    COORDINATE_PAIRS
        .iter()
        .find_map(|(x, y)| Some((position(x)?, position(y)?)))
}

/// A CSV reader (rows of any length) and its header row.
pub(crate) fn csv_reader<R: Read>(reader: R, label: &str) -> Result<(csv::Reader<R>, Vec<String>)> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::corrupt(label, format!("no CSV header ({e})")))?
        .iter()
        .map(str::to_owned)
        .collect();
    Ok((rdr, headers))
}

pub(crate) fn csv(reader: impl Read, label: &str, name: &str) -> Result<Summary> {
    let (mut rdr, headers) = csv_reader(reader, label)?;
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => rows += 1,
            Ok(false) => break,
            Err(e) => return Err(Error::corrupt(label, format!("row {}: {e}", rows + 1))),
        }
    }
    let coordinates = coordinate_columns(&headers);
    let mut summary = Summary::plain(Kind::Csv);
    let fields = headers
        .iter()
        .map(|h| Field {
            name: h.clone(),
            field_type: "esriFieldTypeString".into(),
        })
        .collect();
    summary.layers.push(Layer {
        name: name.to_owned(),
        geometry_type: coordinates.map(|_| "Point".to_owned()),
        feature_count: rows,
        spatial_reference: None,
        fields,
    });
    summary.warn_empty();
    Ok(summary)
}

/// What the GeoJSON visitor collects.
#[derive(Default)]
struct Collected {
    is_collection: bool,
    features: u64,
    geometry_types: BTreeSet<String>,
    properties: Vec<String>,
}

pub(crate) fn geojson(reader: impl Read, label: &str, name: &str) -> Result<Option<Summary>> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let collected = TopLevel
        .deserialize(&mut de)
        .map_err(|e| Error::corrupt(label, format!("not valid JSON ({e})")))?;
    de.end()
        .map_err(|e| Error::corrupt(label, format!("trailing data after the JSON ({e})")))?;
    if !collected.is_collection {
        return Ok(None);
    }
    let mut summary = Summary::plain(Kind::GeoJson);
    let geometry_type = match collected.geometry_types.len() {
        0 => None,
        1 => collected.geometry_types.iter().next().cloned(),
        _ => {
            summary.warnings.push(format!(
                "mixed geometry types: {}",
                collected
                    .geometry_types
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            collected.geometry_types.iter().next().cloned()
        }
    };
    summary.layers.push(Layer {
        name: name.to_owned(),
        geometry_type,
        feature_count: collected.features,
        spatial_reference: None,
        fields: collected
            .properties
            .into_iter()
            .map(|p| Field {
                name: p,
                field_type: "unknown".into(),
            })
            .collect(),
    });
    summary.warn_empty();
    Ok(Some(summary))
}

struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Collected;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Collected, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Collected;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Collected, A::Error> {
        let mut c = Collected::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => c.is_collection = map.next_value::<String>()? == "FeatureCollection",
                "features" => map.next_value_seed(Features(&mut c))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(c)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Collected, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Collected::default())
    }
    fn visit_unit<E>(self) -> Result<Collected, E> {
        Ok(Collected::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Collected, E> {
        Ok(Collected::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Collected, E> {
        Ok(Collected::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Collected, E> {
        Ok(Collected::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Collected, E> {
        Ok(Collected::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Collected, E> {
        Ok(Collected::default())
    }
}

struct Features<'c>(&'c mut Collected);

impl<'de> DeserializeSeed<'de> for Features<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        #[derive(serde::Deserialize)]
        struct Geometry {
            #[serde(rename = "type")]
            kind: String,
        }
        #[derive(serde::Deserialize)]
        struct Feature {
            geometry: Option<Geometry>,
            properties: Option<serde_json::Map<String, serde_json::Value>>,
        }
        while let Some(feature) = seq.next_element::<Feature>()? {
            self.0.features += 1;
            if let Some(g) = feature.geometry {
                self.0
                    .geometry_types
                    .insert(geojson_type(&g.kind).to_owned());
            }
            if self.0.features == 1
                && let Some(p) = feature.properties
            {
                self.0.properties = p.keys().cloned().collect();
            }
        }
        Ok(())
    }
}

fn geojson_type(t: &str) -> &str {
    match t {
        "Point" => "Point",
        "MultiPoint" => "Multipoint",
        "LineString" | "MultiLineString" => "Polyline",
        "Polygon" | "MultiPolygon" => "Polygon",
        other => other,
    }
}
