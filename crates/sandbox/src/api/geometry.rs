//! Geometries in features and in spatial filters: checking that an edit's geometry fits its
//! layer, and whether a feature meets a query's `geometry` (an envelope or a point, with
//! `esriSpatialRelIntersects` or `esriSpatialRelEnvelopeIntersects`). Coordinates are compared
//! as given: the sandbox projects nothing, so a filter in another spatial reference is refused.

use serde_json::Value;

use crate::store::envelope;

/// A query's spatial filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// Features whose geometry meets the envelope `[xmin, ymin, xmax, ymax]`.
    Envelope([f64; 4]),
    /// Features whose geometry meets the point.
    Point(f64, f64),
}

impl Filter {
    /// The envelope a feature's envelope must meet for the feature to pass.
    pub(crate) fn bounds(&self) -> [f64; 4] {
        match *self {
            Self::Envelope(e) => e,
            Self::Point(x, y) => [x, y, x, y],
        }
    }
}

/// Read `geometry` + `geometryType` as a query gives them: JSON, or the short forms
/// `xmin,ymin,xmax,ymax` and `x,y`.
pub(crate) fn parse_filter(geometry: &str, geometry_type: Option<&str>) -> Result<Filter, String> {
    let kind = geometry_type.unwrap_or("esriGeometryEnvelope");
    let numbers: Option<Vec<f64>> = geometry
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok())
        .collect();
    let json: Option<Value> = serde_json::from_str(geometry).ok();
    let finite = |v: &[f64]| v.iter().all(|n| n.is_finite());
    match kind {
        "esriGeometryEnvelope" => {
            let e = match (numbers, &json) {
                (Some(n), _) if n.len() == 4 => [n[0], n[1], n[2], n[3]],
                (_, Some(given)) => {
                    let get = |k: &str| given.get(k).and_then(Value::as_f64);
                    match (get("xmin"), get("ymin"), get("xmax"), get("ymax")) {
                        (Some(xmin), Some(ymin), Some(xmax), Some(ymax)) => {
                            [xmin, ymin, xmax, ymax]
                        }
                        _ => return Err("an envelope needs xmin, ymin, xmax and ymax".into()),
                    }
                }
                _ => return Err("an envelope is 'xmin,ymin,xmax,ymax' or JSON".into()),
            };
            if !finite(&e) || e[0] > e[2] || e[1] > e[3] {
                return Err("the envelope's bounds are not ordered numbers".into());
            }
            Ok(Filter::Envelope(e))
        }
        "esriGeometryPoint" => {
            let p = match (numbers, &json) {
                (Some(n), _) if n.len() == 2 => [n[0], n[1]],
                (_, Some(j)) => match (
                    j.get("x").and_then(Value::as_f64),
                    j.get("y").and_then(Value::as_f64),
                ) {
                    (Some(x), Some(y)) => [x, y],
                    _ => return Err("a point needs x and y".into()),
                },
                _ => return Err("a point is 'x,y' or JSON".into()),
            };
            if !finite(&p) {
                return Err("the point's coordinates are not numbers".into());
            }
            Ok(Filter::Point(p[0], p[1]))
        }
        other => Err(format!(
            "geometryType '{other}' is not served by the sandbox (esriGeometryEnvelope and esriGeometryPoint are)"
        )),
    }
}

fn coords(p: &Value) -> Option<(f64, f64)> {
    let a = p.as_array()?;
    Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
}

fn parts(g: &Value, key: &str) -> Vec<Vec<(f64, f64)>> {
    g.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|part| {
            part.as_array()
                .into_iter()
                .flatten()
                .filter_map(coords)
                .collect()
        })
        .collect()
}

/// Whether segment `a`–`b` meets the envelope (Liang–Barsky clipping).
fn segment_meets(a: (f64, f64), b: (f64, f64), e: [f64; 4]) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [
        (-dx, a.0 - e[0]),
        (dx, e[2] - a.0),
        (-dy, a.1 - e[1]),
        (dy, e[3] - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

/// Whether a point lies inside a set of rings (even–odd: holes excluded).
fn inside_rings(x: f64, y: f64, rings: &[Vec<(f64, f64)>]) -> bool {
    let mut inside = false;
    for ring in rings {
        for w in ring.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if (y0 > y) != (y1 > y) && x < (x1 - x0) * (y - y0) / (y1 - y0) + x0 {
                inside = !inside;
            }
        }
    }
    inside
}

fn within(x: f64, y: f64, e: [f64; 4]) -> bool {
    x >= e[0] && x <= e[2] && y >= e[1] && y <= e[3]
}

/// Whether a feature's geometry meets the filter: with `envelope_only`
/// (`esriSpatialRelEnvelopeIntersects`) its envelope does; otherwise the geometry itself.
pub(crate) fn meets(geometry: &Value, filter: &Filter, envelope_only: bool) -> bool {
    let Some(own) = envelope(geometry) else {
        return false;
    };
    let e = filter.bounds();
    if own[2] < e[0] || own[0] > e[2] || own[3] < e[1] || own[1] > e[3] {
        return false;
    }
    if envelope_only {
        return true;
    }
    if let (Some(x), Some(y)) = (
        geometry.get("x").and_then(Value::as_f64),
        geometry.get("y").and_then(Value::as_f64),
    ) {
        return within(x, y, e);
    }
    if let Some(points) = geometry.get("points").and_then(Value::as_array) {
        return points
            .iter()
            .filter_map(coords)
            .any(|(x, y)| within(x, y, e));
    }
    let paths = parts(geometry, "paths");
    if !paths.is_empty() {
        return paths.iter().any(|p| {
            p.iter().any(|&(x, y)| within(x, y, e))
                || p.windows(2).any(|w| segment_meets(w[0], w[1], e))
        });
    }
    let rings = parts(geometry, "rings");
    rings.iter().any(|r| {
        r.iter().any(|&(x, y)| within(x, y, e))
            || r.windows(2).any(|w| segment_meets(w[0], w[1], e))
    }) || inside_rings(f64::midpoint(e[0], e[2]), f64::midpoint(e[1], e[3]), &rings)
}

/// Check that a geometry given in an edit fits a layer of `geometry_type`: the right shape,
/// numbers for coordinates, paths of two points or more, closed rings of four or more. Returns
/// the geometry without its `spatialReference` (features are stored in the layer's).
pub(crate) fn checked(geometry: &Value, geometry_type: &str) -> Result<Value, String> {
    let Some(object) = geometry.as_object() else {
        return Err("the geometry is not a JSON object".into());
    };
    let mut g = object.clone();
    g.remove("spatialReference");
    let g = Value::Object(g);
    let number = |v: &Value| v.as_f64().is_some_and(f64::is_finite);
    let positions = |v: &Value, min: usize, closed: bool| -> Result<(), String> {
        let list = v.as_array().ok_or("a part is not an array of points")?;
        if list.len() < min {
            return Err(format!(
                "a part has {} points, fewer than {min}",
                list.len()
            ));
        }
        for p in list {
            let a = p
                .as_array()
                .filter(|a| a.len() >= 2 && a.iter().all(number));
            if a.is_none() {
                return Err(format!("{p} is not a point [x, y]"));
            }
        }
        if closed && list.first() != list.last() {
            return Err("a ring is not closed (its first and last points differ)".into());
        }
        Ok(())
    };
    let many = |key: &str, min: usize, closed: bool| -> Result<(), String> {
        let list = g
            .get(key)
            .and_then(Value::as_array)
            .ok_or(format!("a {geometry_type} needs '{key}'"))?;
        if list.is_empty() {
            return Err(format!("'{key}' is empty"));
        }
        list.iter().try_for_each(|p| positions(p, min, closed))
    };
    match geometry_type {
        "esriGeometryPoint" => {
            if !(g.get("x").is_some_and(number) && g.get("y").is_some_and(number)) {
                return Err("a point needs numbers x and y".into());
            }
        }
        "esriGeometryMultipoint" => positions(g.get("points").unwrap_or(&Value::Null), 1, false)?,
        "esriGeometryPolyline" => many("paths", 2, false)?,
        "esriGeometryPolygon" => many("rings", 4, true)?,
        other => return Err(format!("the sandbox does not edit {other} geometries")),
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_and_points_meet_each_shape() {
        let square = json!({"rings": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]]});
        let inner = Filter::Envelope([4.0, 4.0, 5.0, 5.0]);
        assert!(
            meets(&square, &inner, false),
            "an envelope inside a polygon meets it"
        );
        assert!(meets(&square, &Filter::Point(5.0, 5.0), false));
        assert!(!meets(&square, &Filter::Point(11.0, 5.0), false));
        let line = json!({"paths": [[[0, 0], [10, 10]]]});
        assert!(meets(&line, &Filter::Envelope([4.0, 3.0, 6.0, 7.0]), false));
        // The line's envelope meets this one, the line does not.
        let corner = Filter::Envelope([8.0, 0.0, 10.0, 2.0]);
        assert!(!meets(&line, &corner, false));
        assert!(meets(&line, &corner, true));
        let point = json!({"x": 3, "y": 4});
        assert!(meets(
            &point,
            &Filter::Envelope([0.0, 0.0, 3.0, 4.0]),
            false
        ));
        assert!(!meets(
            &point,
            &Filter::Envelope([3.5, 0.0, 5.0, 5.0]),
            false
        ));
        let holed = json!({"rings": [
            [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
            [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
        ]});
        assert!(
            !meets(&holed, &Filter::Point(5.0, 5.0), false),
            "a hole is outside"
        );
    }

    #[test]
    fn filters_parse_short_and_json_forms() {
        assert_eq!(
            parse_filter("1,2,3,4", None),
            Ok(Filter::Envelope([1.0, 2.0, 3.0, 4.0]))
        );
        assert_eq!(
            parse_filter(
                r#"{"xmin":1,"ymin":2,"xmax":3,"ymax":4,"spatialReference":{"wkid":4326}}"#,
                Some("esriGeometryEnvelope")
            ),
            Ok(Filter::Envelope([1.0, 2.0, 3.0, 4.0]))
        );
        assert_eq!(
            parse_filter(r#"{"x":1,"y":2}"#, Some("esriGeometryPoint")),
            Ok(Filter::Point(1.0, 2.0))
        );
        assert!(parse_filter("3,2,1,0", None).is_err());
        assert!(parse_filter("{}", Some("esriGeometryPolygon")).is_err());
    }

    #[test]
    fn edit_geometries_are_checked_against_the_layer() {
        assert!(
            checked(
                &json!({"x": 1, "y": 2, "spatialReference": {"wkid": 4326}}),
                "esriGeometryPoint"
            )
            .is_ok()
        );
        assert!(checked(&json!({"x": "a", "y": 2}), "esriGeometryPoint").is_err());
        assert!(checked(&json!({"paths": [[[0, 0]]]}), "esriGeometryPolyline").is_err());
        assert!(
            checked(
                &json!({"rings": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
                "esriGeometryPolygon"
            )
            .is_err()
        );
        assert!(
            checked(
                &json!({"rings": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}),
                "esriGeometryPolygon"
            )
            .is_ok()
        );
        assert!(checked(&json!({"x": 1, "y": 2}), "esriGeometryPolygon").is_err());
    }
}
