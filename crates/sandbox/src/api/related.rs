//! Relationship classes between a service's layers and tables (spec/portal-api.md,
//! "queryRelatedRecords"): each layer's `relationships` as its definition gives them
//! (`{id, name, relatedTableId, role, keyField, cardinality, composite}`), and the records a
//! feature is related to through one of them.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::layers::{find, id_of, object_id_field};
use super::query::{match_key, value_of};
use super::{Call, error};
use crate::store::Service;

fn bad(detail: &str) -> Response {
    error(400, "Unable to perform query operation.", &[detail])
}

/// One end of a relationship class, as both layers' definitions describe it.
pub(super) struct Relation<'a> {
    /// This layer's key field.
    pub key: String,
    /// The related layer or table.
    pub related: &'a Value,
    /// The related layer's key field.
    pub related_key: String,
}

/// Relationship `id` of `layer`, with its other end (whose entry of the same id names the
/// related key field).
pub(super) fn relation<'a>(
    service: &'a Service,
    layer: &Value,
    id: i64,
) -> Result<Relation<'a>, Response> {
    let entry = layer["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"].as_i64() == Some(id))
        .ok_or_else(|| bad(&format!("The layer has no relationship {id}.")))?;
    let related_id = entry["relatedTableId"].as_i64().unwrap_or(-1);
    let related = find(service, &related_id.to_string()).ok_or_else(|| {
        bad(&format!(
            "Relationship {id} names table {related_id}, which the service does not have."
        ))
    })?;
    let other = related["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["id"].as_i64() == Some(id) && r["relatedTableId"].as_i64() == Some(id_of(layer))
        });
    let key = entry["keyField"].as_str().unwrap_or_default().to_owned();
    let related_key = other
        .and_then(|o| o["keyField"].as_str())
        .unwrap_or(&key)
        .to_owned();
    if key.is_empty() {
        return Err(bad(&format!("Relationship {id} names no keyField.")));
    }
    Ok(Relation {
        key,
        related,
        related_key,
    })
}

/// `…/{layer}/queryRelatedRecords`: `objectIds`, `relationshipId`, `outFields`,
/// `definitionExpression` (over the related records), `returnGeometry`, `orderByFields`,
/// `returnCountOnly` → `{"fields", "relatedRecordGroups": [{"objectId", "relatedRecords"}]}`.
pub(super) fn query(call: &Call, service: &Service, layer: &Value) -> Result<Response, Response> {
    let p = &call.params;
    for key in [
        "historicMoment",
        "gdbVersion",
        "outSR",
        "resultOffset",
        "resultRecordCount",
        "returnZ",
        "returnM",
    ] {
        if p.get(key).is_some_and(|v| v != "false") {
            return Err(bad(&format!("'{key}' is not supported by the sandbox.")));
        }
    }
    let id = p
        .get("relationshipId")
        .and_then(|r| r.parse::<i64>().ok())
        .ok_or_else(|| bad("'relationshipId' must be specified."))?;
    let relation = relation(service, layer, id)?;
    let ids = p
        .get("objectIds")
        .map(|l| super::query::object_id_list(l, "objectIds"))
        .transpose()?
        .ok_or_else(|| bad("'objectIds' must be specified."))?;
    let oid_field = object_id_field(layer).to_owned();
    let origins = super::query::matching(call, service, layer, None, Some(&ids), None)?;
    let related_fields = super::query::field_names(relation.related);
    let clause =
        super::query::where_clause(p.get("definitionExpression").unwrap_or(""), &related_fields)?;
    let related_oid = object_id_field(relation.related).to_owned();
    let candidates =
        super::query::matching(call, service, relation.related, clause.as_ref(), None, None)?;
    let wanted: Option<Vec<String>> = p
        .get("outFields")
        .map(str::trim)
        .filter(|f| !f.is_empty() && *f != "*")
        .map(|f| f.split(',').map(|x| x.trim().to_owned()).collect());
    if let Some(w) = &wanted
        && let Some(unknown) = w
            .iter()
            .find(|n| !related_fields.iter().any(|f| f.eq_ignore_ascii_case(n)))
    {
        return Err(bad(&format!(
            "'{unknown}' in outFields is not a field of the related table."
        )));
    }
    let with_geometry = p
        .get("returnGeometry")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let count_only = p
        .get("returnCountOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let order = p
        .get("orderByFields")
        .map(|o| super::query::order_by(o, &related_fields))
        .transpose()?;
    let mut groups = Vec::new();
    for origin in &origins {
        let attributes = super::query::attributes_of(origin, &oid_field);
        let Some(key) = match_key(value_of(&attributes, &relation.key)) else {
            continue;
        };
        let mut records: Vec<(Map<String, Value>, Option<Value>)> = candidates
            .iter()
            .map(|f| {
                (
                    super::query::attributes_of(f, &related_oid),
                    f.geometry.clone(),
                )
            })
            .filter(|(a, _)| match_key(value_of(a, &relation.related_key)).as_ref() == Some(&key))
            .collect();
        if records.is_empty() {
            continue;
        }
        if count_only {
            groups.push(json!({"objectId": origin.oid, "count": records.len()}));
            continue;
        }
        if let Some(keys) = &order {
            records.sort_by(|a, b| super::query::compare(&a.0, &b.0, keys));
        }
        let records: Vec<Value> = records
            .into_iter()
            .map(|(mut a, g)| {
                let keep = wanted.as_ref().unwrap_or(&related_fields);
                a.retain(|k, _| {
                    k.eq_ignore_ascii_case(&related_oid)
                        || keep.iter().any(|w| w.eq_ignore_ascii_case(k))
                });
                let mut r = json!({"attributes": a});
                if with_geometry && let Some(g) = g {
                    r["geometry"] = g;
                }
                r
            })
            .collect();
        groups.push(json!({"objectId": origin.oid, "relatedRecords": records}));
    }
    let fields: Vec<Value> = relation.related["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            let n = f["name"].as_str().unwrap_or_default();
            wanted.as_ref().is_none_or(|w| {
                n.eq_ignore_ascii_case(&related_oid) || w.iter().any(|x| x.eq_ignore_ascii_case(n))
            })
        })
        .cloned()
        .collect();
    let mut out = json!({"relatedRecordGroups": groups});
    if !count_only {
        out["fields"] = json!(fields);
        if let Some(g) = relation.related["geometryType"].as_str() {
            out["geometryType"] = json!(g);
            out["spatialReference"] = relation
                .related
                .get("spatialReference")
                .cloned()
                .unwrap_or_else(|| service.definition["spatialReference"].clone());
        }
    }
    Ok(call.reply(&out))
}
