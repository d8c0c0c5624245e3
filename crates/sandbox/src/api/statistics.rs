//! `outStatistics` of a layer's `query`: `count`, `sum`, `min`, `max`, `avg`, `stddev` and
//! `var` (sample variance, as SQL Server's VAR and STDEV), over the matching rows, grouped by
//! `groupByFieldsForStatistics`, ordered by `orderByFields` (which may name output fields).

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::query::value_of;
use super::{Call, error};
use crate::store::Feature;

fn bad(detail: &str) -> Response {
    error(400, "Unable to perform query operation.", &[detail])
}

struct Statistic {
    kind: String,
    field: String,
    out: String,
}

fn parse(text: &str, fields: &[String]) -> Result<Vec<Statistic>, Response> {
    let list: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| bad(&format!("'outStatistics' is not a JSON array: {e}")))?;
    if list.is_empty() {
        return Err(bad("'outStatistics' names no statistic."));
    }
    list.iter()
        .map(|s| {
            let kind = s["statisticType"].as_str().unwrap_or_default().to_ascii_lowercase();
            if !matches!(kind.as_str(), "count" | "sum" | "min" | "max" | "avg" | "stddev" | "var") {
                return Err(bad(&format!(
                    "statisticType '{}' is not supported by the sandbox (count, sum, min, max, avg, stddev, var are).",
                    s["statisticType"].as_str().unwrap_or_default()
                )));
            }
            let field = s["onStatisticField"].as_str().unwrap_or_default();
            let known = fields.iter().find(|f| f.eq_ignore_ascii_case(field));
            let field = match (known, kind.as_str(), field) {
                (Some(f), _, _) => f.clone(),
                (None, "count", "" | "*" | "1") => String::new(),
                (None, _, _) => return Err(bad(&format!("onStatisticField '{field}' is not a field of the layer."))),
            };
            let out = s["outStatisticFieldName"]
                .as_str()
                .filter(|o| !o.is_empty())
                .map_or_else(|| format!("{kind}_{field}"), str::to_owned);
            Ok(Statistic { kind, field, out })
        })
        .collect()
}

fn compute(s: &Statistic, rows: &[&Map<String, Value>]) -> Value {
    if s.kind == "count" {
        let n = rows
            .iter()
            .filter(|a| s.field.is_empty() || !value_of(a, &s.field).is_null())
            .count();
        return json!(n);
    }
    let values: Vec<&Value> = rows
        .iter()
        .map(|a| value_of(a, &s.field))
        .filter(|v| !v.is_null())
        .collect();
    if values.is_empty() {
        return Value::Null;
    }
    if matches!(s.kind.as_str(), "min" | "max") {
        let pick = values.into_iter().reduce(|a, b| {
            let o = super::query::value_order(a, b);
            if (s.kind == "min") == o.is_le() { a } else { b }
        });
        return pick.cloned().unwrap_or(Value::Null);
    }
    let numbers: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
    #[allow(clippy::cast_precision_loss)] // counts of features, far below 2^52
    let n = numbers.len() as f64;
    let sum: f64 = numbers.iter().sum();
    match s.kind.as_str() {
        "sum" => json!(sum),
        "avg" => json!(sum / n),
        _ if numbers.len() < 2 => Value::Null,
        kind => {
            let mean = sum / n;
            let var = numbers.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            json!(if kind == "var" { var } else { var.sqrt() })
        }
    }
}

/// A group's key values and its rows.
type Group<'a> = (Map<String, Value>, Vec<&'a Map<String, Value>>);

/// Answer a query with `outStatistics` over the matching `rows`.
pub(super) fn answer(
    call: &Call,
    text: &str,
    fields: &[String],
    oid_field: &str,
    rows: &[Feature],
) -> Result<Response, Response> {
    let stats = parse(text, fields)?;
    let group_by: Vec<String> = call
        .params
        .get("groupByFieldsForStatistics")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|g| {
            fields
                .iter()
                .find(|f| f.eq_ignore_ascii_case(g))
                .cloned()
                .ok_or_else(|| {
                    bad(&format!(
                        "'{g}' in groupByFieldsForStatistics is not a field of the layer."
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let attributes: Vec<Map<String, Value>> = rows
        .iter()
        .map(|f| super::query::attributes_of(f, oid_field))
        .collect();
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for a in &attributes {
        let key: Map<String, Value> = group_by
            .iter()
            .map(|g| (g.clone(), value_of(a, g).clone()))
            .collect();
        groups
            .entry(Value::Object(key.clone()).to_string())
            .or_insert_with(|| (key, Vec::new()))
            .1
            .push(a);
    }
    if groups.is_empty() && group_by.is_empty() {
        groups.insert(String::new(), (Map::new(), Vec::new()));
    }
    let mut out: Vec<Map<String, Value>> = groups
        .into_values()
        .map(|(mut key, members)| {
            for s in &stats {
                key.insert(s.out.clone(), compute(s, &members));
            }
            key
        })
        .collect();
    let mut names: Vec<String> = group_by.clone();
    names.extend(stats.iter().map(|s| s.out.clone()));
    if let Some(order) = call.params.get("orderByFields") {
        let keys = super::query::order_by(order, &names)?;
        out.sort_by(|a, b| super::query::compare(a, b, &keys));
    }
    let out_fields: Vec<Value> = group_by
        .iter()
        .map(|g| json!({"name": g, "alias": g}))
        .chain(stats.iter().map(|s| {
            let kind = if matches!(s.kind.as_str(), "count") {
                "esriFieldTypeInteger"
            } else {
                "esriFieldTypeDouble"
            };
            json!({"name": s.out, "alias": s.out, "type": kind})
        }))
        .collect();
    Ok(call.reply(&json!({
        "displayFieldName": "",
        "fields": out_fields,
        "features": out.into_iter().map(|a| json!({"attributes": a})).collect::<Vec<_>>(),
    })))
}
