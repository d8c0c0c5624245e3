//! A hosted layer's `query` over its features in SQLite (spec/portal-api.md, "…/query"):
//! `where`, `objectIds`, a spatial filter (envelope or point), then counts, ids, extents,
//! statistics, or the features themselves ordered, paged and cut to `outFields`, as Esri JSON or
//! GeoJSON. A view's layer reads its source's features through its `viewDefinitionQuery` and
//! fields. A parameter the sandbox does not implement is refused when it asks for anything but
//! its default, never ignored.

use std::cmp::Ordering;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::geometry::{self, Filter};
use super::layers::{self, id_of, is_table, object_id_field};
use super::sql::{self, Expr};
use super::{Call, error};
use crate::store::{Feature, Selection, Service};

/// Parameters the sandbox does not implement, with the values that ask for nothing (their
/// defaults): any other value is refused.
const NOT_SERVED: &[(&str, &[&str])] = &[
    ("havingClause", &[]),
    ("time", &["null"]),
    ("distance", &["0", "0.0"]),
    ("maxAllowableOffset", &["0"]),
    ("geometryPrecision", &[]),
    ("quantizationParameters", &[]),
    ("multipatchOption", &["none"]),
    ("gdbVersion", &[]),
    ("historicMoment", &[]),
    ("datumTransformation", &[]),
    ("relationParam", &[]),
    ("text", &[]),
    ("returnCentroid", &["false"]),
    ("returnGeodetic", &["false"]),
    ("returnQueryGeometry", &["false"]),
    ("returnTrueCurves", &["false"]),
    ("sqlFormat", &["none", "standard"]),
    ("resultType", &["none", "standard"]),
    ("rangeValues", &[]),
    ("parameterValues", &[]),
    ("timeReferenceUnknownClient", &["false"]),
    ("returnUniqueIdsOnly", &["false"]),
];

fn bad(detail: &str) -> Response {
    error(400, "Unable to perform query operation.", &[detail])
}

/// The service and layer whose features a layer shows: its own, or a view's source's.
pub(super) fn data_of(
    call: &Call,
    service: &Service,
    layer: &Value,
) -> Result<(Service, Value), Response> {
    let (Some(name), Some(id)) = (
        layer.pointer("/source/service").and_then(Value::as_str),
        layer.pointer("/source/layer").and_then(Value::as_i64),
    ) else {
        return Ok((service.clone(), layer.clone()));
    };
    linked(call, name, &json!(id), "the view's source")
}

/// The service `name` and its layer `id`, which a view or a join names; a `500` saying which is
/// gone otherwise.
fn linked(call: &Call, name: &str, id: &Value, what: &str) -> Result<(Service, Value), Response> {
    let gone = |detail: String| error(500, "Unable to complete operation.", &[&detail]);
    let service = call
        .shared
        .store
        .service_named(&call.org, name)
        .map_err(internal)?
        .ok_or_else(|| gone(format!("{what} service '{name}' is gone")))?;
    let layer = service
        .layers
        .as_array()
        .and_then(|l| l.iter().find(|l| l["id"].as_i64() == id.as_i64()))
        .cloned()
        .ok_or_else(|| gone(format!("{what} layer {id} of '{name}' is gone")))?;
    Ok((service, layer))
}

/// The names of a layer's fields.
pub(super) fn field_names(layer: &Value) -> Vec<String> {
    layer["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect()
}

/// A feature's attributes with its object id under the layer's object id field.
pub(super) fn attributes_of(f: &Feature, oid_field: &str) -> Map<String, Value> {
    let mut a = Map::with_capacity(f.attributes.len() + 1);
    a.insert(oid_field.to_owned(), json!(f.oid));
    for (k, v) in &f.attributes {
        a.insert(k.clone(), v.clone());
    }
    a
}

/// The rows of a layer (a view's: of its source, through its definition query) that pass
/// `clause`, `object_ids` and `spatial`, in object id order.
pub(super) fn matching(
    call: &Call,
    service: &Service,
    layer: &Value,
    clause: Option<&Expr>,
    object_ids: Option<&[i64]>,
    spatial: Option<(&Filter, bool)>,
) -> Result<Vec<Feature>, Response> {
    let (data_service, data_layer) = data_of(call, service, layer)?;
    let view_clause = layer["viewDefinitionQuery"]
        .as_str()
        .filter(|q| !q.trim().is_empty())
        .map(sql::parse)
        .transpose()
        .map_err(|e| {
            error(
                500,
                "Unable to complete operation.",
                &[&format!("the view's definition query does not parse: {e}")],
            )
        })?
        .flatten();
    let oid_field = object_id_field(&data_layer).to_owned();
    let selection = Selection {
        object_ids,
        envelope: spatial.map(|(f, _)| f.bounds()),
    };
    let mut rows = call
        .shared
        .store
        .features(&data_service.item, id_of(&data_layer), &selection)
        .map_err(internal)?;
    join(call, layer, &oid_field, &mut rows)?;
    if clause.is_some() || view_clause.is_some() || spatial.is_some() {
        rows.retain(|f| {
            let attributes = attributes_of(f, &oid_field);
            view_clause
                .as_ref()
                .is_none_or(|c| sql::matches(c, &attributes))
                && clause.is_none_or(|c| sql::matches(c, &attributes))
                && spatial.is_none_or(|(filter, envelope_only)| {
                    f.geometry
                        .as_ref()
                        .is_some_and(|g| geometry::meets(g, filter, envelope_only))
                })
        });
    }
    Ok(rows)
}

/// A join view's related tables joined to its rows: each row takes the fields of the first
/// related row whose keys match (compared as text, case-insensitively); an `INNER` join keeps
/// only the rows with a match.
fn join(
    call: &Call,
    layer: &Value,
    oid_field: &str,
    rows: &mut Vec<Feature>,
) -> Result<(), Response> {
    let store = &call.shared.store;
    for j in layer["joins"].as_array().into_iter().flatten() {
        let name = j["service"].as_str().unwrap_or_default();
        let (related, related_layer) = linked(call, name, &j["layer"], "the joined")?;
        let related_oid = object_id_field(&related_layer).to_owned();
        let keys = |key: &str| -> Vec<String> {
            j[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        };
        let (parent_keys, keys) = (keys("parentKeyFields"), keys("keyFields"));
        let mut by_key: std::collections::HashMap<Vec<String>, Map<String, Value>> =
            std::collections::HashMap::new();
        for f in store
            .features(&related.item, id_of(&related_layer), &Selection::default())
            .map_err(internal)?
        {
            let a = attributes_of(&f, &related_oid);
            by_key.entry(key_of(&a, &keys)).or_insert(a);
        }
        let inner = j["type"] == "INNER";
        rows.retain_mut(|f| {
            let own = attributes_of(f, oid_field);
            match by_key.get(&key_of(&own, &parent_keys)) {
                Some(joined) => {
                    for (k, v) in joined {
                        if !k.eq_ignore_ascii_case(&related_oid)
                            && !own.keys().any(|o| o.eq_ignore_ascii_case(k))
                        {
                            f.attributes.insert(k.clone(), v.clone());
                        }
                    }
                    true
                }
                None => !inner,
            }
        });
    }
    Ok(())
}

/// A row's values of `fields` (case-insensitive names), as match keys, to match join keys.
fn key_of(attributes: &Map<String, Value>, fields: &[String]) -> Vec<String> {
    fields
        .iter()
        .map(|f| match_key(value_of(attributes, f)).unwrap_or_default())
        .collect()
}

/// A row's value of field `name` (case-insensitive); null when it has none.
pub(super) fn value_of<'a>(attributes: &'a Map<String, Value>, name: &str) -> &'a Value {
    attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map_or(&Value::Null, |(_, v)| v)
}

/// A value as a key rows are matched on (joins, related records, upserts): text whatever its
/// case (GUIDs come in either), other values as written; `None` for null.
pub(super) fn match_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string()),
    }
}

/// A comma list of object ids.
pub(super) fn object_id_list(list: &str, what: &str) -> Result<Vec<i64>, Response> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            id.parse::<i64>().map_err(|_| {
                bad(&format!(
                    "'{what}' must be a comma-separated list of integers."
                ))
            })
        })
        .collect()
}

/// Parse `where` and check the fields it names against the layer's.
pub(super) fn where_clause(text: &str, fields: &[String]) -> Result<Option<Expr>, Response> {
    let clause = sql::parse(text).map_err(|e| bad(&format!("Invalid where clause: {e}")))?;
    if let Some(c) = &clause {
        for name in sql::fields(c) {
            if !fields.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                return Err(bad(&format!(
                    "Invalid where clause: '{name}' is not a field of the layer"
                )));
            }
        }
    }
    Ok(clause)
}

pub(super) fn query(call: &Call, service: &Service, layer: &Value) -> Result<Response, Response> {
    let p = &call.params;
    for (name, defaults) in NOT_SERVED {
        if let Some(v) = p.get(name)
            && !defaults.iter().any(|d| d.eq_ignore_ascii_case(v.trim()))
        {
            return Err(bad(&format!(
                "'{name}' is not supported by the sandbox (asked: {v})."
            )));
        }
    }
    let fields = field_names(layer);
    let oid_field = object_id_field(layer).to_owned();
    let sr = layer
        .get("spatialReference")
        .cloned()
        .unwrap_or_else(|| service.definition["spatialReference"].clone());
    for key in ["inSR", "outSR"] {
        if let Some(v) = p.get(key)
            && !same_reference(v, &sr)
        {
            return Err(bad(&format!(
                "'{key}' {v} differs from the layer's spatial reference: the sandbox does not project."
            )));
        }
    }
    let clause = where_clause(p.get("where").unwrap_or(""), &fields)?;
    let object_ids = p
        .get("objectIds")
        .map(|l| object_id_list(l, "objectIds"))
        .transpose()?;
    let spatial = match p.get("geometry") {
        None => None,
        Some(g) => {
            let filter = geometry::parse_filter(g, p.get("geometryType"))
                .map_err(|e| bad(&format!("Invalid geometry: {e}")))?;
            let envelope_only = match p.get("spatialRel").unwrap_or("esriSpatialRelIntersects") {
                "esriSpatialRelIntersects" => false,
                "esriSpatialRelEnvelopeIntersects" => true,
                other => {
                    return Err(bad(&format!(
                        "spatialRel '{other}' is not supported by the sandbox (esriSpatialRelIntersects and esriSpatialRelEnvelopeIntersects are)."
                    )));
                }
            };
            Some((filter, envelope_only))
        }
    };
    let rows = matching(
        call,
        service,
        layer,
        clause.as_ref(),
        object_ids.as_deref(),
        spatial.as_ref().map(|(f, e)| (f, *e)),
    )?;
    let geojson = p
        .get("f")
        .is_some_and(|f| f.eq_ignore_ascii_case("geojson"));
    let count_only = call.params.flag("returnCountOnly", false);
    if call.params.flag("returnExtentOnly", false) {
        let mut env: Option<[f64; 4]> = None;
        for e in rows
            .iter()
            .filter_map(|f| f.geometry.as_ref())
            .filter_map(crate::store::envelope)
        {
            env = Some(env.map_or(e, |a| {
                [
                    a[0].min(e[0]),
                    a[1].min(e[1]),
                    a[2].max(e[2]),
                    a[3].max(e[3]),
                ]
            }));
        }
        let mut out = json!({"extent": layers::extent_json(env, &sr)});
        if count_only {
            out["count"] = json!(rows.len());
        }
        return Ok(call.reply(&out));
    }
    if count_only {
        return Ok(call.reply(&json!({"count": rows.len()})));
    }
    if call.params.flag("returnIdsOnly", false) {
        let ids: Vec<i64> = rows.iter().map(|f| f.oid).collect();
        return Ok(call.reply(&json!({"objectIdFieldName": oid_field, "objectIds": ids})));
    }
    if let Some(stats) = p.get("outStatistics") {
        return super::statistics::answer(call, stats, &fields, &oid_field, &rows);
    }
    if p.get("groupByFieldsForStatistics").is_some() {
        return Err(bad("'groupByFieldsForStatistics' needs 'outStatistics'."));
    }
    let wanted = out_fields(p.get("outFields"), &fields)?;
    let mut features: Vec<(Map<String, Value>, Option<Value>)> = rows
        .into_iter()
        .map(|f| {
            let geometry = f.geometry.clone();
            let mut attributes = attributes_of(&f, &oid_field);
            // A field added after the row was written is null in it, as a new column is.
            for name in &fields {
                if !attributes.contains_key(name) {
                    attributes.insert(name.clone(), Value::Null);
                }
            }
            (attributes, geometry)
        })
        .collect();
    if let Some(order) = p.get("orderByFields") {
        let keys = order_by(order, &fields)?;
        features.sort_by(|a, b| compare(&a.0, &b.0, &keys));
    }
    if call.params.flag("returnDistinctValues", false) {
        let Some(wanted) = &wanted else {
            return Err(bad(
                "'returnDistinctValues' needs 'outFields' naming the fields.",
            ));
        };
        let mut seen = std::collections::HashSet::new();
        features = features
            .into_iter()
            .map(|(a, _)| {
                (
                    a.into_iter()
                        .filter(|(k, _)| wanted.iter().any(|w| w.eq_ignore_ascii_case(k)))
                        .collect::<Map<_, _>>(),
                    None,
                )
            })
            .filter(|(a, _)| seen.insert(Value::Object(a.clone()).to_string()))
            .collect();
    }
    let max = layer["maxRecordCount"]
        .as_u64()
        .unwrap_or(layers::MAX_RECORD_COUNT);
    let number = |key: &str| -> Result<Option<u64>, Response> {
        p.get(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(&format!("'{key}' must be a non-negative integer.")))
            })
            .transpose()
    };
    let offset = usize::try_from(number("resultOffset")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit =
        usize::try_from(number("resultRecordCount")?.unwrap_or(max).min(max)).unwrap_or(usize::MAX);
    let more = features.len() > offset.saturating_add(limit);
    let with_geometry = call.params.flag("returnGeometry", true) && !is_table(layer);
    let with_z = call.params.flag("returnZ", false);
    let page: Vec<Value> = features
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(mut attributes, geometry)| {
            // `*` is every field of the layer (a view's own, not its source's).
            let keep = wanted.as_ref().unwrap_or(&fields);
            attributes.retain(|k, _| {
                k.eq_ignore_ascii_case(&oid_field) || keep.iter().any(|w| w.eq_ignore_ascii_case(k))
            });
            let mut f = json!({"attributes": attributes});
            if with_geometry && let Some(mut g) = geometry {
                if !with_z {
                    strip_z(&mut g);
                }
                f["geometry"] = g;
            }
            f
        })
        .collect();
    let layer_fields: Vec<Value> = layer["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            let name = f["name"].as_str().unwrap_or_default();
            wanted.as_ref().is_none_or(|w| {
                name.eq_ignore_ascii_case(&oid_field)
                    || w.iter().any(|x| x.eq_ignore_ascii_case(name))
            })
        })
        .cloned()
        .collect();
    if geojson {
        let features: Vec<Value> = page
            .iter()
            .map(|f| {
                json!({
                    "type": "Feature", "id": f["attributes"][&oid_field],
                    "geometry": f.get("geometry").and_then(orgpack_payload::geojson_geometry),
                    "properties": f["attributes"],
                })
            })
            .collect();
        let mut out = json!({"type": "FeatureCollection", "features": features});
        if more {
            out["properties"] = json!({"exceededTransferLimit": true});
        }
        return Ok(call.reply(&out));
    }
    let mut out = json!({
        "objectIdFieldName": oid_field,
        "uniqueIdField": {"name": oid_field, "isSystemMaintained": true},
        "globalIdFieldName": layer["globalIdField"].as_str().unwrap_or_default(),
        "fields": layer_fields,
        "features": page,
        "exceededTransferLimit": more,
    });
    if !is_table(layer) {
        out["geometryType"] = layer["geometryType"].clone();
        out["spatialReference"] = sr;
        out["hasZ"] = json!(with_z && layer["hasZ"].as_bool().unwrap_or(false));
        out["hasM"] = json!(false);
    }
    Ok(call.reply(&out))
}

/// Whether a `inSR`/`outSR` value (a wkid or spatial reference JSON) is the layer's.
fn same_reference(given: &str, sr: &Value) -> bool {
    let ids = [
        sr.get("wkid").and_then(Value::as_i64),
        sr.get("latestWkid").and_then(Value::as_i64),
    ];
    let wkid = given.trim().parse::<i64>().ok().or_else(|| {
        serde_json::from_str::<Value>(given).ok().and_then(|v| {
            v.get("wkid")
                .or(v.get("latestWkid"))
                .and_then(Value::as_i64)
        })
    });
    let web_mercator = |id: i64| matches!(id, 102_100 | 3857 | 102_113 | 900_913);
    wkid.is_some_and(|w| {
        ids.iter()
            .flatten()
            .any(|i| *i == w || (web_mercator(*i) && web_mercator(w)))
    })
}

fn strip_z(g: &mut Value) {
    if let Some(o) = g.as_object_mut() {
        o.remove("z");
        o.remove("hasZ");
    }
    for key in ["points", "paths", "rings"] {
        let Some(list) = g.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        let trim = |p: &mut Value| {
            if let Some(a) = p.as_array_mut() {
                a.truncate(2);
            }
        };
        for item in list {
            if key == "points" {
                trim(item);
            } else {
                item.as_array_mut().into_iter().flatten().for_each(trim);
            }
        }
    }
}

/// `outFields`: `None` for every field (`*` or absent); unknown names refused.
fn out_fields(given: Option<&str>, fields: &[String]) -> Result<Option<Vec<String>>, Response> {
    match given.map(str::trim) {
        None | Some("*" | "") => Ok(None),
        Some(list) => {
            let names: Vec<String> = list
                .split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect();
            if names.iter().any(|n| n == "*") {
                return Ok(None);
            }
            for n in &names {
                if !fields.iter().any(|f| f.eq_ignore_ascii_case(n)) {
                    return Err(bad(&format!(
                        "'{n}' in outFields is not a field of the layer."
                    )));
                }
            }
            Ok(Some(names))
        }
    }
}

/// `orderByFields`: `FIELD [ASC|DESC]`, comma-separated.
pub(super) fn order_by(text: &str, fields: &[String]) -> Result<Vec<(String, bool)>, Response> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|part| {
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or_default();
            let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => false,
                Some("DESC") => true,
                Some(other) => {
                    return Err(bad(&format!(
                        "Invalid orderByFields: '{other}' after '{name}' is neither ASC nor DESC."
                    )));
                }
            };
            if words.next().is_some() || !fields.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                return Err(bad(&format!(
                    "Invalid orderByFields: '{part}' does not name a field of the layer."
                )));
            }
            Ok((name.to_owned(), descending))
        })
        .collect()
}

/// Order two rows by `keys`: nulls first, numbers numerically, text case-insensitively.
pub(super) fn compare(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    keys: &[(String, bool)],
) -> Ordering {
    for (key, descending) in keys {
        let ordering = value_order(value_of(a, key), value_of(b, key));
        let ordering = if *descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Nulls first, then numbers, then text (case-insensitive).
pub(super) fn value_order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Number(_), _) => Ordering::Less,
        (_, Value::Number(_)) => Ordering::Greater,
        (x, y) => x.to_string().cmp(&y.to_string()),
    }
}
