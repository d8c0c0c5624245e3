//! The features of a payload's layer, a page at a time, as Esri JSON (`{"attributes",
//! "geometry"}`): what a hosted feature layer published from the payload answers to `query`.
//! File Geodatabases (zipped, or inside a service definition) through [`crate::rows`]; zipped
//! shapefiles (`.dbf` attributes, `.shp` shapes through the `.shx`); CSV rows
//! (every column a string, a point from the coordinate columns) and GeoJSON features (properties
//! as attributes, geometries converted, polygon rings turned to Esri's orientation) streamed,
//! keeping only the page. Each feature's `OBJECTID` is its position, from 1.

use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write as _};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::rows::Page;

/// A page of the features of layer `layer` of a payload (see the module documentation): rows
/// `offset .. offset + limit`, in object id order.
///
/// # Errors
/// [`Error::Corrupt`] for damaged files, an unknown layer, or a kind whose features are not read
/// (plain files); [`Error::Refused`]; [`Error::Io`].
pub fn features<R: Read + Seek>(
    mut reader: R,
    name: &str,
    layer: &str,
    offset: usize,
    limit: usize,
) -> Result<Page> {
    let mut head = [0u8; 16];
    let n = crate::read_up_to(&mut reader, &mut head).map_err(|e| Error::io(name, e))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(name, e))?;
    let head = &head[..n];
    if head.starts_with(b"PK") {
        return crate::zipped::fgdb_page(reader, name, layer, offset, limit);
    }
    if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        return crate::sd::page(reader, name, layer, offset, limit);
    }
    let text = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    if head.len() > text.len() {
        reader
            .seek(SeekFrom::Start(3))
            .map_err(|e| Error::io(name, e))?;
    }
    if text
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
    {
        return geojson_page(reader, name, offset, limit);
    }
    let extension = std::path::Path::new(name)
        .extension()
        .map(std::ffi::OsStr::to_ascii_lowercase);
    if extension.is_some_and(|e| e == "csv" || e == "txt") {
        return csv_page(reader, name, offset, limit);
    }
    Err(Error::corrupt(
        name,
        "features are read from File Geodatabases, shapefiles, service definitions, CSV and GeoJSON",
    ))
}

fn csv_page(reader: impl Read, label: &str, offset: usize, limit: usize) -> Result<Page> {
    let (mut rdr, headers) = crate::text::csv_reader(reader, label)?;
    let coordinates = crate::text::coordinate_columns(&headers);
    let mut features = Vec::new();
    let mut window = crate::rows::Window::new(offset, limit);
    let mut record = csv::StringRecord::new();
    let mut row = 0usize;
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(Error::corrupt(label, format!("row {}: {e}", row + 1))),
        }
        row += 1;
        match window.admit() {
            crate::rows::Admit::Skip => continue,
            crate::rows::Admit::Stop => break,
            crate::rows::Admit::Take => {}
        }
        let mut attributes = Map::new();
        attributes.insert("OBJECTID".into(), json!(row));
        for (i, h) in headers.iter().enumerate() {
            attributes.insert(h.clone(), record.get(i).map_or(Value::Null, |v| json!(v)));
        }
        let mut feature = Map::new();
        feature.insert("attributes".into(), Value::Object(attributes));
        if let Some((x, y)) = coordinates {
            let number = |i: usize| record.get(i).and_then(|v| v.trim().parse::<f64>().ok());
            if let (Some(x), Some(y)) = (number(x), number(y)) {
                feature.insert("geometry".into(), json!({"x": x, "y": y}));
            }
        }
        features.push(Value::Object(feature));
    }
    let mut fields = vec!["OBJECTID".to_owned()];
    fields.extend(headers);
    Ok(Page {
        features,
        more: window.more,
        fields,
        spatial_reference: None,
    })
}

fn geojson_page(reader: impl Read, label: &str, offset: usize, limit: usize) -> Result<Page> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut collect = Collect {
        offset,
        limit,
        seen: 0,
        page: Page {
            features: Vec::new(),
            more: false,
            fields: Vec::new(),
            // RFC 7946: GeoJSON coordinates are WGS 84.
            spatial_reference: Some(crate::shapefile_write::WGS84_WKT.to_owned()),
        },
    };
    Top(&mut collect)
        .deserialize(&mut de)
        .map_err(|e| Error::corrupt(label, format!("not valid GeoJSON ({e})")))?;
    Ok(collect.page)
}

struct Collect {
    offset: usize,
    limit: usize,
    seen: usize,
    page: Page,
}

struct Top<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "features" {
                map.next_value_seed(Features(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Features<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for Features<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let c = self.0;
        loop {
            let wanted = c.seen >= c.offset && c.page.features.len() < c.limit;
            if wanted {
                let Some(feature) = seq.next_element::<Value>()? else {
                    break;
                };
                c.seen += 1;
                let feature = esri_feature(&feature, c.seen);
                if c.page.fields.is_empty()
                    && let Some(a) = feature["attributes"].as_object()
                {
                    c.page.fields = a.keys().cloned().collect();
                }
                c.page.features.push(feature);
            } else {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                if c.seen >= c.offset {
                    c.page.more = true;
                }
                c.seen += 1;
            }
        }
        Ok(())
    }
}

/// A GeoJSON feature as an Esri JSON feature with object id `oid`.
fn esri_feature(feature: &Value, oid: usize) -> Value {
    let mut attributes = Map::new();
    attributes.insert("OBJECTID".into(), json!(oid));
    if let Some(properties) = feature.get("properties").and_then(Value::as_object) {
        for (k, v) in properties {
            if !k.eq_ignore_ascii_case("OBJECTID") {
                attributes.insert(k.clone(), v.clone());
            }
        }
    }
    let mut out = Map::new();
    out.insert("attributes".into(), Value::Object(attributes));
    if let Some(g) = feature.get("geometry").and_then(esri_geometry) {
        out.insert("geometry".into(), g);
    }
    Value::Object(out)
}

/// A GeoJSON geometry as Esri JSON; `None` for null or unknown geometries.
#[must_use]
pub fn esri_geometry(g: &Value) -> Option<Value> {
    let coords = g.get("coordinates")?;
    let position = |p: &Value| -> Option<Vec<f64>> {
        let a = p.as_array()?;
        (a.len() >= 2).then(|| a.iter().filter_map(Value::as_f64).collect())
    };
    let line =
        |l: &Value| -> Option<Vec<Vec<f64>>> { l.as_array()?.iter().map(position).collect() };
    let has_z = |points: &[Vec<f64>]| points.first().is_some_and(|p| p.len() > 2);
    let with_z = |mut v: Value, z: bool| {
        if z {
            v["hasZ"] = json!(true);
        }
        Some(v)
    };
    match g.get("type")?.as_str()? {
        "Point" => {
            let p = position(coords)?;
            let mut v = json!({"x": p[0], "y": p[1]});
            if let Some(z) = p.get(2) {
                v["z"] = json!(z);
            }
            Some(v)
        }
        "MultiPoint" => {
            let points = line(coords)?;
            let z = has_z(&points);
            with_z(json!({ "points": points }), z)
        }
        "LineString" => {
            let path = line(coords)?;
            let z = has_z(&path);
            with_z(json!({ "paths": [path] }), z)
        }
        "MultiLineString" => {
            let paths: Vec<Vec<Vec<f64>>> =
                coords.as_array()?.iter().map(line).collect::<Option<_>>()?;
            let z = paths.first().is_some_and(|p| has_z(p));
            with_z(json!({ "paths": paths }), z)
        }
        "Polygon" => {
            let rings = polygon_rings(coords)?;
            let z = rings.first().is_some_and(|r| has_z(r));
            with_z(json!({ "rings": rings }), z)
        }
        "MultiPolygon" => {
            let mut rings = Vec::new();
            for polygon in coords.as_array()? {
                rings.extend(polygon_rings(polygon)?);
            }
            let z = rings.first().is_some_and(|r| has_z(r));
            with_z(json!({ "rings": rings }), z)
        }
        _ => None,
    }
}

/// A GeoJSON polygon's rings in Esri's orientation: the outer ring clockwise, holes
/// counter-clockwise (GeoJSON, RFC 7946, has them the other way).
fn polygon_rings(polygon: &Value) -> Option<Vec<Vec<Vec<f64>>>> {
    let mut rings = Vec::new();
    for (i, ring) in polygon.as_array()?.iter().enumerate() {
        let mut points: Vec<Vec<f64>> = ring
            .as_array()?
            .iter()
            .map(|p| {
                p.as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
            })
            .collect::<Option<_>>()?;
        let clockwise = signed_area(&points) < 0.0;
        if clockwise != (i == 0) {
            points.reverse();
        }
        rings.push(points);
    }
    Some(rings)
}

/// Twice the ring's signed area (shoelace): positive counter-clockwise.
pub(crate) fn signed_area(ring: &[Vec<f64>]) -> f64 {
    ring.windows(2)
        .filter(|w| w[0].len() >= 2 && w[1].len() >= 2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum()
}

/// What a layer's features can be written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values: the attributes, then `x` and `y` for points.
    Csv,
    /// A GeoJSON FeatureCollection (rings turned back to GeoJSON's orientation).
    GeoJson,
    /// A zipped shapefile named after the layer (all features are gathered first: the format's
    /// headers need the counts and extent).
    Shapefile,
}

/// Rows read per pass when converting.
const CONVERT_PAGE: usize = 10_000;

/// Write every feature of layer `layer` to `out` as `format`, reading a page at a time from a
/// fresh reader (`open`); returns how many were written, through the [`FeatureWriter`] the
/// sandbox's exports write with.
///
/// # Errors
/// As [`features`]; [`Error::Io`] when `out` cannot be written.
pub fn convert<R: Read + Seek, W: std::io::Write>(
    mut open: impl FnMut() -> std::io::Result<R>,
    name: &str,
    layer: &str,
    format: Format,
    out: W,
) -> Result<u64> {
    let mut writer: Option<FeatureWriter<W>> = None;
    let mut out = Some(out);
    let mut offset = 0;
    loop {
        let reader = open().map_err(|e| Error::io(name, e))?;
        let page = features_page(reader, name, layer, offset)?;
        offset += page.features.len();
        let w = match writer.as_mut() {
            Some(w) => w,
            None => writer.insert(FeatureWriter::new(
                layer,
                &page.fields,
                page.spatial_reference.as_deref(),
                format,
                out.take().expect("taken once"),
            )?),
        };
        for f in &page.features {
            w.feature(f)?;
        }
        if !page.more {
            break;
        }
    }
    writer.expect("one page at least").finish()
}

/// Features written one at a time as CSV, GeoJSON or a zipped shapefile (which is gathered and
/// written at [`FeatureWriter::finish`]: its headers need the counts and extent). What exports
/// of hosted layers are made with, whether the features come from a file or from a store.
pub struct FeatureWriter<W: std::io::Write> {
    layer: String,
    fields: Vec<String>,
    srs: Option<String>,
    sink: Sink<W>,
    written: u64,
}

enum Sink<W: std::io::Write> {
    Json(std::io::BufWriter<W>),
    Csv(Box<csv::Writer<W>>, bool),
    Shapefile(W, Vec<Value>),
}

impl<W: std::io::Write> FeatureWriter<W> {
    /// Start writing layer `layer` with `fields` (attribute names in order; `OBJECTID` among them
    /// when it is to be written) in spatial reference `srs_wkt`.
    ///
    /// # Errors
    /// [`Error::Io`] when `out` cannot be written.
    pub fn new(
        layer: &str,
        fields: &[String],
        srs_wkt: Option<&str>,
        format: Format,
        out: W,
    ) -> Result<Self> {
        let sink = match format {
            Format::GeoJson => {
                let mut w = std::io::BufWriter::new(out);
                w.write_all(br#"{"type":"FeatureCollection","features":["#)
                    .map_err(|e| Error::io(format!("writing {layer}"), e))?;
                Sink::Json(w)
            }
            Format::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out)), false),
            Format::Shapefile => Sink::Shapefile(out, Vec::new()),
        };
        Ok(Self {
            layer: layer.to_owned(),
            fields: fields.to_vec(),
            srs: srs_wkt.map(str::to_owned),
            sink,
            written: 0,
        })
    }

    /// Write one feature (`{"attributes", "geometry"}`, Esri JSON).
    ///
    /// # Errors
    /// [`Error::Io`] when the output cannot be written.
    pub fn feature(&mut self, f: &Value) -> Result<()> {
        let layer = &self.layer;
        let io = |e: std::io::Error| Error::io(format!("writing {layer}"), e);
        let attributes = f["attributes"].as_object().cloned().unwrap_or_default();
        match &mut self.sink {
            Sink::Json(w) => {
                let feature = json!({
                    "type": "Feature",
                    "id": attributes.get("OBJECTID"),
                    "geometry": f.get("geometry").and_then(geojson_geometry),
                    "properties": attributes,
                });
                if self.written > 0 {
                    w.write_all(b",").map_err(io)?;
                }
                serde_json::to_writer(&mut *w, &feature).map_err(|e| io(e.into()))?;
            }
            Sink::Csv(w, header_written) => {
                // Points add x and y columns, unless the fields have them already.
                let has_xy = self.fields.iter().any(|n| n.eq_ignore_ascii_case("x"))
                    && self.fields.iter().any(|n| n.eq_ignore_ascii_case("y"));
                let point = f
                    .get("geometry")
                    .filter(|g| g.get("x").is_some() && !has_xy);
                if !*header_written {
                    let mut names = self.fields.clone();
                    if point.is_some() {
                        names.extend(["x".to_owned(), "y".to_owned()]);
                    }
                    w.write_record(&names).map_err(|e| io(e.into()))?;
                    *header_written = true;
                }
                let mut record: Vec<String> = self
                    .fields
                    .iter()
                    .map(|k| match attributes.get(k) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    })
                    .collect();
                if let Some(g) = point {
                    record.push(g["x"].to_string());
                    record.push(g["y"].to_string());
                }
                w.write_record(&record).map_err(|e| io(e.into()))?;
            }
            Sink::Shapefile(_, gathered) => gathered.push(f.clone()),
        }
        self.written += 1;
        Ok(())
    }

    /// Finish the file; returns how many features were written.
    ///
    /// # Errors
    /// [`Error::Io`] when the output cannot be written.
    pub fn finish(self) -> Result<u64> {
        let layer = &self.layer;
        let io = |e: std::io::Error| Error::io(format!("writing {layer}"), e);
        match self.sink {
            Sink::Json(mut w) => {
                w.write_all(b"]}").map_err(io)?;
                w.flush().map_err(io)?;
            }
            Sink::Csv(mut w, header_written) => {
                if !header_written {
                    w.write_record(&self.fields).map_err(|e| io(e.into()))?;
                }
                w.flush().map_err(io)?;
            }
            Sink::Shapefile(out, features) => {
                crate::shapefile_write::write(
                    layer,
                    &self.fields,
                    &features,
                    self.srs.as_deref(),
                    out,
                )?;
            }
        }
        Ok(self.written)
    }
}

fn features_page<R: Read + Seek>(
    reader: R,
    name: &str,
    layer: &str,
    offset: usize,
) -> Result<Page> {
    features(reader, name, layer, offset, CONVERT_PAGE)
}

/// An Esri JSON geometry as GeoJSON: rings grouped into polygons (a clockwise ring starts one,
/// counter-clockwise rings are its holes) and turned to GeoJSON's orientation.
#[must_use]
pub fn geojson_geometry(g: &Value) -> Option<Value> {
    let position = |p: &Value| p.as_array().cloned().map(Value::Array);
    if let (Some(x), Some(y)) = (g.get("x"), g.get("y")) {
        let mut c = vec![x.clone(), y.clone()];
        if let Some(z) = g.get("z") {
            c.push(z.clone());
        }
        return Some(json!({"type": "Point", "coordinates": c}));
    }
    if let Some(points) = g.get("points").and_then(Value::as_array) {
        let c: Vec<Value> = points.iter().filter_map(position).collect();
        return Some(json!({"type": "MultiPoint", "coordinates": c}));
    }
    if let Some(paths) = g.get("paths").and_then(Value::as_array) {
        return Some(if paths.len() == 1 {
            json!({"type": "LineString", "coordinates": paths[0]})
        } else {
            json!({"type": "MultiLineString", "coordinates": paths})
        });
    }
    let rings = g.get("rings").and_then(Value::as_array)?;
    let mut polygons: Vec<Vec<Vec<Vec<f64>>>> = Vec::new();
    for ring in rings {
        let mut points: Vec<Vec<f64>> = ring
            .as_array()?
            .iter()
            .map(|p| {
                p.as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
            })
            .collect::<Option<_>>()?;
        let clockwise = signed_area(&points) < 0.0;
        points.reverse();
        match polygons.last_mut() {
            Some(polygon) if !clockwise => polygon.push(points),
            _ => polygons.push(vec![points]),
        }
    }
    Some(if polygons.len() == 1 {
        json!({"type": "Polygon", "coordinates": polygons[0]})
    } else {
        json!({"type": "MultiPolygon", "coordinates": polygons})
    })
}
