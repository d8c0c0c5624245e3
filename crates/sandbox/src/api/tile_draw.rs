//! Drawing a tile layer's tiles from its source layer's features: PNG images (256 pixels) for a
//! tile layer, Mapbox Vector Tiles (extent 4096, one layer per source layer) for a vector tile
//! layer, and the vector tile layer's default style. Deterministic: the same features draw the
//! same bytes, so a restored tile layer can be compared with its source tile for tile.

// Pixel and tile arithmetic: coordinates are small (a tile's pixels, levels up to 23), so the
// casts between floats and integers lose nothing that matters; x, y, z are the tile's own names.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::many_single_char_names
)]

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Call;
use super::auth::internal;
use super::layers::{id_of, is_table};
use super::tiles::HALF_WORLD;
use crate::store::{Selection, TileService};

/// Pixels of a raster tile's side.
const PIXELS: usize = 256;
/// Units of a vector tile's side.
const EXTENT: i64 = 4096;

/// A feature in a tile: its object id, attributes and coordinate lists (Web Mercator meters).
type TileFeature = (i64, Map<String, Value>, Vec<Vec<(f64, f64)>>);

/// A source layer's features in one tile.
pub(super) struct TileLayer {
    name: String,
    geometry_type: String,
    color: [u8; 4],
    features: Vec<TileFeature>,
}

/// The envelope of tile `z/y/x` in Web Mercator meters.
fn tile_envelope(z: u32, y: u64, x: u64) -> [f64; 4] {
    let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    let (x, y) = (x as f64, y as f64);
    [
        -HALF_WORLD + x * size,
        HALF_WORLD - (y + 1.0) * size,
        -HALF_WORLD + (x + 1.0) * size,
        HALF_WORLD - y * size,
    ]
}

/// Longitude/latitude to Web Mercator meters.
pub(super) fn mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78);
    (
        lon * HALF_WORLD / 180.0,
        ((90.0 + lat) * std::f64::consts::PI / 360.0).tan().ln() * HALF_WORLD
            / std::f64::consts::PI,
    )
}

/// Web Mercator meters to longitude/latitude.
pub(super) fn geographic(x: f64, y: f64) -> (f64, f64) {
    (
        x * 180.0 / HALF_WORLD,
        (2.0 * (y * std::f64::consts::PI / HALF_WORLD).exp().atan() - std::f64::consts::FRAC_PI_2)
            .to_degrees(),
    )
}

/// Whether a layer's coordinates are longitude/latitude (else Web Mercator, the only other
/// system the sandbox keeps).
pub(super) fn is_geographic(layer: &Value, service_definition: &Value) -> bool {
    let sr = layer
        .get("spatialReference")
        .filter(|s| s.is_object())
        .or_else(|| service_definition.get("spatialReference"));
    sr.and_then(|s| s.get("wkid"))
        .and_then(Value::as_i64)
        .is_none_or(|w| w == 4326)
}

/// The source's extent in Web Mercator, `None` when it has no features (or is gone).
pub(super) fn source_extent(
    call: &Call,
    tiles: &TileService,
) -> Result<Option<[f64; 4]>, Response> {
    let store = &call.shared.store;
    let Some(source) = store
        .service_of(&call.org, &tiles.source)
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let mut out: Option<[f64; 4]> = None;
    for layer in source.layers.as_array().into_iter().flatten() {
        if is_table(layer) {
            continue;
        }
        let Some(e) = store
            .layer_extent(&source.item, id_of(layer))
            .map_err(internal)?
        else {
            continue;
        };
        let e = if is_geographic(layer, &source.definition) {
            let (a, b) = (mercator(e[0], e[1]), mercator(e[2], e[3]));
            [a.0, a.1, b.0, b.1]
        } else {
            e
        };
        out = Some(out.map_or(e, |o| {
            [
                o[0].min(e[0]),
                o[1].min(e[1]),
                o[2].max(e[2]),
                o[3].max(e[3]),
            ]
        }));
    }
    Ok(out)
}

/// The features of each layer of the tile service's source that meet tile `z/y/x` (none when
/// the source was deleted: its tiles are empty).
pub(super) fn features_in(
    call: &Call,
    tiles: &TileService,
    z: u32,
    y: u64,
    x: u64,
) -> Result<Vec<TileLayer>, Response> {
    let store = &call.shared.store;
    let Some(source) = store
        .service_of(&call.org, &tiles.source)
        .map_err(internal)?
    else {
        return Ok(Vec::new());
    };
    let envelope = tile_envelope(z, y, x);
    let mut out = Vec::new();
    for (n, layer) in source.layers.as_array().into_iter().flatten().enumerate() {
        if is_table(layer) {
            continue;
        }
        let geographic_layer = is_geographic(layer, &source.definition);
        let selection_envelope = if geographic_layer {
            let (a, b) = (
                geographic(envelope[0], envelope[1]),
                geographic(envelope[2], envelope[3]),
            );
            [a.0, a.1, b.0, b.1]
        } else {
            envelope
        };
        let selection = Selection {
            object_ids: None,
            envelope: Some(selection_envelope),
        };
        let features = store
            .features(&source.item, id_of(layer), &selection)
            .map_err(internal)?;
        let project = |(px, py): (f64, f64)| {
            if geographic_layer {
                mercator(px, py)
            } else {
                (px, py)
            }
        };
        let features = features
            .into_iter()
            .filter_map(|f| {
                let g = f.geometry?;
                let parts = parts_of(&g)
                    .into_iter()
                    .map(|p| p.into_iter().map(project).collect())
                    .collect();
                Some((f.oid, f.attributes, parts))
            })
            .collect();
        out.push(TileLayer {
            name: layer["name"].as_str().unwrap_or_default().to_owned(),
            geometry_type: layer["geometryType"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            color: color_of(layer, n),
            features,
        });
    }
    Ok(out)
}

/// An Esri JSON geometry's coordinate lists: one per point, ring or path.
fn parts_of(g: &Value) -> Vec<Vec<(f64, f64)>> {
    let pair = |p: &Value| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?));
    if let (Some(x), Some(y)) = (
        g.get("x").and_then(Value::as_f64),
        g.get("y").and_then(Value::as_f64),
    ) {
        return vec![vec![(x, y)]];
    }
    if let Some(points) = g.get("points").and_then(Value::as_array) {
        return points.iter().filter_map(pair).map(|p| vec![p]).collect();
    }
    ["rings", "paths"]
        .iter()
        .filter_map(|k| g.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_array)
        .map(|part| part.iter().filter_map(pair).collect())
        .collect()
}

/// The layer's color: its simple renderer's symbol color, else one of a fixed palette.
fn color_of(layer: &Value, n: usize) -> [u8; 4] {
    const PALETTE: [[u8; 4]; 4] = [
        [0, 112, 255, 255],
        [230, 0, 0, 255],
        [56, 168, 0, 255],
        [255, 170, 0, 255],
    ];
    let given = layer
        .pointer("/drawingInfo/renderer/symbol/color")
        .and_then(Value::as_array)
        .filter(|c| c.len() == 4)
        .and_then(|c| {
            let v: Vec<u8> = c
                .iter()
                .filter_map(|v| v.as_u64().and_then(|v| u8::try_from(v).ok()))
                .collect();
            <[u8; 4]>::try_from(v).ok()
        });
    given.unwrap_or(PALETTE[n % PALETTE.len()])
}

/// A 256-pixel PNG of the features: polygons filled (even-odd) at half opacity and outlined,
/// lines one pixel wide, points 5-pixel squares; transparent elsewhere.
pub(super) fn png_tile(
    layers: &[TileLayer],
    z: u32,
    y: u64,
    x: u64,
) -> Result<Vec<u8>, png::EncodingError> {
    let envelope = tile_envelope(z, y, x);
    let scale = PIXELS as f64 / (envelope[2] - envelope[0]);
    let to_pixel = |(mx, my): (f64, f64)| ((mx - envelope[0]) * scale, (envelope[3] - my) * scale);
    let mut canvas = vec![0u8; PIXELS * PIXELS * 4];
    for layer in layers {
        let color = layer.color;
        for (_, _, parts) in &layer.features {
            let parts: Vec<Vec<(f64, f64)>> = parts
                .iter()
                .map(|p| p.iter().copied().map(to_pixel).collect())
                .collect();
            match layer.geometry_type.as_str() {
                "esriGeometryPolygon" => {
                    fill(
                        &mut canvas,
                        &parts,
                        [color[0], color[1], color[2], color[3] / 2],
                    );
                    for ring in &parts {
                        for w in ring.windows(2) {
                            line(&mut canvas, w[0], w[1], color);
                        }
                    }
                }
                "esriGeometryPolyline" => {
                    for path in &parts {
                        for w in path.windows(2) {
                            line(&mut canvas, w[0], w[1], color);
                        }
                    }
                }
                _ => {
                    for &(px, py) in parts.iter().flatten() {
                        for dy in -2..=2 {
                            for dx in -2..=2 {
                                plot(
                                    &mut canvas,
                                    px.floor() as i64 + dx,
                                    py.floor() as i64 + dy,
                                    color,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let size = u32::try_from(PIXELS).unwrap_or(256);
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas)?;
    writer.finish()?;
    Ok(out)
}

/// Set one pixel (inside the tile), the color laid over what is there.
fn plot(canvas: &mut [u8], x: i64, y: i64, c: [u8; 4]) {
    let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
        return;
    };
    if x >= PIXELS || y >= PIXELS {
        return;
    }
    let i = (y * PIXELS + x) * 4;
    let a = u16::from(c[3]);
    for k in 0..3 {
        let under = u16::from(canvas[i + k]);
        canvas[i + k] =
            u8::try_from((u16::from(c[k]) * a + under * (255 - a)) / 255).unwrap_or(255);
    }
    canvas[i + 3] = canvas[i + 3].max(c[3]);
}

/// A one-pixel line (Bresenham), clipped to a generous box around the tile.
fn line(canvas: &mut [u8], a: (f64, f64), b: (f64, f64), c: [u8; 4]) {
    let limit = (PIXELS * 4) as f64;
    if a.0.abs().max(a.1.abs()).max(b.0.abs()).max(b.1.abs()) > limit {
        // Far outside: walk it in tile steps only where it could cross the tile.
        let steps = 64;
        let mut prev = a;
        for s in 1..=steps {
            let t = f64::from(s) / f64::from(steps);
            let next = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            if prev
                .0
                .abs()
                .max(prev.1.abs())
                .max(next.0.abs())
                .max(next.1.abs())
                <= limit
            {
                line(canvas, prev, next, c);
            }
            prev = next;
        }
        return;
    }
    let (mut x0, mut y0) = (a.0.floor() as i64, a.1.floor() as i64);
    let (x1, y1) = (b.0.floor() as i64, b.1.floor() as i64);
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        plot(canvas, x0, y0, c);
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

/// Fill the rings even-odd, sampling each pixel's center.
fn fill(canvas: &mut [u8], rings: &[Vec<(f64, f64)>], c: [u8; 4]) {
    let mut crossings = Vec::new();
    for row in 0..PIXELS {
        let cy = row as f64 + 0.5;
        crossings.clear();
        for ring in rings {
            for w in ring.windows(2) {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                if (y0 <= cy) != (y1 <= cy) {
                    crossings.push(x0 + (cy - y0) / (y1 - y0) * (x1 - x0));
                }
            }
        }
        crossings.sort_by(f64::total_cmp);
        for pair in crossings.chunks_exact(2) {
            let (from, to) = (
                (pair[0] - 0.5).ceil().max(0.0) as i64,
                (pair[1] - 0.5).floor().min(PIXELS as f64) as i64,
            );
            for col in from..=to {
                plot(canvas, col, i64::try_from(row).unwrap_or(0), c);
            }
        }
    }
}

/// A Mapbox Vector Tile (version 2) of the features: one layer per source layer, each feature's
/// object id as its id and its attributes as tags.
pub(super) fn vector_tile(layers: &[TileLayer], z: u32, y: u64, x: u64) -> Vec<u8> {
    let envelope = tile_envelope(z, y, x);
    let scale = EXTENT as f64 / (envelope[2] - envelope[0]);
    let to_tile = |(mx, my): (f64, f64)| {
        let clamp = |v: f64| v.round().clamp(-1_048_576.0, 1_048_576.0) as i64;
        (
            clamp((mx - envelope[0]) * scale),
            clamp((envelope[3] - my) * scale),
        )
    };
    let mut tile = Vec::new();
    for layer in layers.iter().filter(|l| !l.features.is_empty()) {
        let mut keys: Vec<String> = Vec::new();
        let mut values: Vec<Vec<u8>> = Vec::new();
        let mut body = Vec::new();
        field_varint(&mut body, 15, 2);
        field_bytes(&mut body, 1, layer.name.as_bytes());
        for (oid, attributes, parts) in &layer.features {
            let mut tags = Vec::new();
            for (k, v) in attributes {
                let Some(encoded) = value(v) else { continue };
                let ki = keys.iter().position(|x| x == k).unwrap_or_else(|| {
                    keys.push(k.clone());
                    keys.len() - 1
                });
                let vi = values
                    .iter()
                    .position(|x| *x == encoded)
                    .unwrap_or_else(|| {
                        values.push(encoded);
                        values.len() - 1
                    });
                tags.extend([ki as u64, vi as u64]);
            }
            let parts: Vec<Vec<(i64, i64)>> = parts
                .iter()
                .map(|p| p.iter().copied().map(to_tile).collect())
                .collect();
            let (kind, geometry) = commands(&layer.geometry_type, &parts);
            if geometry.is_empty() {
                continue;
            }
            let mut feature = Vec::new();
            field_varint(&mut feature, 1, u64::try_from(*oid).unwrap_or(0));
            field_packed(&mut feature, 2, &tags);
            field_varint(&mut feature, 3, kind);
            field_packed(&mut feature, 4, &geometry);
            field_bytes(&mut body, 2, &feature);
        }
        for k in &keys {
            field_bytes(&mut body, 3, k.as_bytes());
        }
        for v in &values {
            field_bytes(&mut body, 4, v);
        }
        field_varint(&mut body, 5, EXTENT as u64);
        field_bytes(&mut tile, 3, &body);
    }
    tile
}

/// A tag value, encoded as the `Value` message: strings, whole numbers, doubles and booleans.
fn value(v: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match v {
        Value::String(s) => field_bytes(&mut out, 1, s.as_bytes()),
        Value::Bool(b) => field_varint(&mut out, 7, u64::from(*b)),
        Value::Number(n) if n.is_i64() => field_varint(&mut out, 6, zigzag(n.as_i64()?)),
        Value::Number(n) => {
            varint(&mut out, 3 << 3 | 1);
            out.extend_from_slice(&n.as_f64()?.to_le_bytes());
        }
        _ => return None,
    }
    Some(out)
}

/// The geometry type (1 point, 2 line, 3 polygon) and command integers of a feature.
fn commands(geometry_type: &str, parts: &[Vec<(i64, i64)>]) -> (u64, Vec<u64>) {
    let mut out = Vec::new();
    let mut cursor = (0i64, 0i64);
    let mut delta = |out: &mut Vec<u64>, p: (i64, i64)| {
        out.push(zigzag(p.0 - cursor.0));
        out.push(zigzag(p.1 - cursor.1));
        cursor = p;
    };
    let command = |id: u64, count: usize| id | (count as u64) << 3;
    match geometry_type {
        "esriGeometryPolygon" | "esriGeometryPolyline" => {
            let polygon = geometry_type == "esriGeometryPolygon";
            for part in parts {
                let mut part: Vec<(i64, i64)> = part.clone();
                part.dedup();
                if polygon {
                    // Esri's outer rings run clockwise with y up; with y down (tile space) the
                    // spec wants them clockwise too: every ring reversed keeps holes opposite.
                    if part.len() > 1 && part.first() == part.last() {
                        part.pop();
                    }
                    part.reverse();
                    if part.len() < 3 {
                        continue;
                    }
                } else if part.len() < 2 {
                    continue;
                }
                out.push(command(1, 1));
                delta(&mut out, part[0]);
                out.push(command(2, part.len() - 1));
                for p in &part[1..] {
                    delta(&mut out, *p);
                }
                if polygon {
                    out.push(command(7, 1));
                }
            }
            (if polygon { 3 } else { 2 }, out)
        }
        _ => {
            let points: Vec<(i64, i64)> = parts.iter().flatten().copied().collect();
            if !points.is_empty() {
                out.push(command(1, points.len()));
                for p in points {
                    delta(&mut out, p);
                }
            }
            (1, out)
        }
    }
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)).cast_unsigned()
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7f).unwrap_or(0) | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).unwrap_or(0));
}

fn field_varint(out: &mut Vec<u8>, field: u64, n: u64) {
    varint(out, field << 3);
    varint(out, n);
}

fn field_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn field_packed(out: &mut Vec<u8>, field: u64, ns: &[u64]) {
    let mut body = Vec::new();
    for n in ns {
        varint(&mut body, *n);
    }
    field_bytes(out, field, &body);
}

/// The vector tile layer's default style (`resources/styles/root.json`): one style layer per
/// source layer, drawn as its geometry type is.
pub(super) fn style(definition: &Value) -> Value {
    let layers: Vec<Value> = definition["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(n, l)| {
            let c = color_of(l, n);
            let color = format!("rgba({},{},{},{})", c[0], c[1], c[2], f64::from(c[3]) / 255.0);
            let name = l["name"].as_str().unwrap_or_default();
            let (kind, paint) = match l["geometryType"].as_str() {
                Some("esriGeometryPolygon") => ("fill", json!({"fill-color": color, "fill-opacity": 0.5})),
                Some("esriGeometryPolyline") => ("line", json!({"line-color": color, "line-width": 1})),
                _ => ("circle", json!({"circle-color": color, "circle-radius": 3})),
            };
            json!({"id": name, "type": kind, "source": "esri", "source-layer": name, "paint": paint})
        })
        .collect();
    json!({
        "version": 8,
        "sources": {"esri": {"type": "vector", "url": "../../"}},
        "layers": layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mercator_and_geographic_are_inverse() {
        let (x, y) = mercator(-122.5, 37.75);
        let (lon, lat) = geographic(x, y);
        assert!((lon + 122.5).abs() < 1e-9 && (lat - 37.75).abs() < 1e-9);
    }

    #[test]
    fn vector_tile_commands_follow_the_spec() {
        // The spec's example: a point at (25, 17) is MoveTo(1) then zigzag 50, 34.
        let (kind, g) = commands("esriGeometryPoint", &[vec![(25, 17)]]);
        assert_eq!((kind, g), (1, vec![9, 50, 34]));
        // A line 2,2 → 2,10 → 10,10: MoveTo, LineTo(2) with relative moves.
        let (kind, g) = commands("esriGeometryPolyline", &[vec![(2, 2), (2, 10), (10, 10)]]);
        assert_eq!((kind, g), (2, vec![9, 4, 4, 18, 0, 16, 16, 0]));
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn a_polygon_fills_its_inside_and_leaves_its_hole() {
        let mut canvas = vec![0u8; PIXELS * PIXELS * 4];
        let outer = vec![
            (10.0, 10.0),
            (10.0, 100.0),
            (100.0, 100.0),
            (100.0, 10.0),
            (10.0, 10.0),
        ];
        let hole = vec![
            (40.0, 40.0),
            (70.0, 40.0),
            (70.0, 70.0),
            (40.0, 70.0),
            (40.0, 40.0),
        ];
        fill(&mut canvas, &[outer, hole], [255, 0, 0, 255]);
        let alpha = |x: usize, y: usize| canvas[(y * PIXELS + x) * 4 + 3];
        assert_eq!(alpha(20, 20), 255);
        assert_eq!(alpha(55, 55), 0);
        assert_eq!(alpha(150, 150), 0);
    }
}
