//! The Offline Packaging geoprocessing service that makes offline map areas
//! (spec/portal-api.md, "Offline map areas"): ArcGIS Online runs it at
//! `packaging.arcgis.com/arcgis/rest/services/OfflinePackaging/GPServer`, ArcGIS Enterprise on its
//! hosting server under `System/OfflinePackaging`; `portals/self` names it in
//! `helperServices.packaging.url`, which is where clients find it. The sandbox serves it at
//! `/<org>/server/rest/services/System/OfflinePackaging/GPServer`, with the tasks
//! `CreateMapArea` and `SetupMapArea` (`crate::api::map_areas` does their work), asynchronous as
//! the real service is: `submitJob`, then `jobs/<id>` (`esriJobExecuting` until the sandbox's job
//! latency has passed, then `esriJobSucceeded` or `esriJobFailed` with its messages), then
//! `jobs/<id>/results/<parameter>`. Its other tasks (refreshing and deleting packages) and
//! `execute` are refused.

use axum::response::Response;
use serde_json::{Value, json};

use super::{Call, error};

/// A task's parameters: name, data type, required / optional / derived (output).
struct Parameter {
    name: &'static str,
    kind: &'static str,
    display: &'static str,
}

const REQUIRED: &str = "esriGPParameterTypeRequired";
const OPTIONAL: &str = "esriGPParameterTypeOptional";
const DERIVED: &str = "esriGPParameterTypeDerived";

/// The tasks the sandbox runs, with their parameters as the real service declares them.
const TASKS: &[(&str, &[Parameter])] = &[
    (
        "CreateMapArea",
        &[
            Parameter {
                name: "mapItemId",
                kind: REQUIRED,
                display: "Map Item ID",
            },
            Parameter {
                name: "bookmark",
                kind: OPTIONAL,
                display: "Map Bookmark",
            },
            Parameter {
                name: "extent",
                kind: OPTIONAL,
                display: "Extent",
            },
            Parameter {
                name: "areaType",
                kind: OPTIONAL,
                display: "Area Type",
            },
            Parameter {
                name: "area",
                kind: OPTIONAL,
                display: "Area",
            },
            Parameter {
                name: "outputName",
                kind: OPTIONAL,
                display: "Output Name",
            },
            Parameter {
                name: "mapAreaItemId",
                kind: DERIVED,
                display: "Map Area Item ID",
            },
        ],
    ),
    (
        "SetupMapArea",
        &[
            Parameter {
                name: "mapAreaItemId",
                kind: REQUIRED,
                display: "Map Area Item ID",
            },
            Parameter {
                name: "mapLayersToIgnore",
                kind: OPTIONAL,
                display: "Map layers to ignore",
            },
            Parameter {
                name: "tileServices",
                kind: OPTIONAL,
                display: "Tile Services",
            },
            Parameter {
                name: "featureServices",
                kind: OPTIONAL,
                display: "Feature Services",
            },
            Parameter {
                name: "packages",
                kind: DERIVED,
                display: "Packages",
            },
        ],
    ),
];

/// The real service's tasks the sandbox does not run.
const NOT_RUN: &[&str] = &[
    "RefreshMapAreaPackage",
    "DeleteMapArea",
    "CreateMapAreaPackage",
];

/// What a task's job ends with: its outputs by name, and its messages (warnings included).
pub(super) struct Outcome {
    pub outputs: Vec<(&'static str, Value)>,
    pub messages: Vec<String>,
}

/// The service's URL, as `portals/self` names it.
pub(super) fn url(call: &Call) -> String {
    format!(
        "{}/server/rest/services/System/OfflinePackaging/GPServer",
        call.rest.trim_end_matches("/sharing/rest")
    )
}

/// `…/System/OfflinePackaging/GPServer[/<task>[/submitJob|/jobs/<id>[/results/<name>]]]`.
pub(super) fn gp_server(call: &Call, rest: &[&str], post: bool) -> Result<Response, Response> {
    call.require_user()?;
    match rest {
        [] => Ok(call.reply(&json!({
            "currentVersion": 11.3, "serviceDescription": "Offline map areas: create and set up",
            "tasks": TASKS.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            "executionType": "esriExecutionTypeAsynchronous", "resultMapServerName": "",
            "maximumRecords": 1000, "capabilities": "",
        }))),
        [task] => task_info(call, task),
        [task, "submitJob"] => {
            let parameters = parameters_of(task)?;
            submit(call, task, parameters)
        }
        [task, "execute"] => {
            parameters_of(task)?;
            Err(error(
                400,
                "Unable to complete operation.",
                &[
                    "'execute' is not supported by an asynchronous geoprocessing service: use submitJob.",
                ],
            ))
        }
        [task, "jobs", id] => status(call, task, id),
        [task, "jobs", id, "results", name] => result(call, task, id, name),
        [_, "jobs", _, "cancel"] if post => Err(error(
            400,
            "Unable to complete operation.",
            &["The job has ended: there is nothing to cancel."],
        )),
        _ => Err(error(400, "Invalid URL", &[])),
    }
}

/// A task's parameters, or the error for a task the sandbox does not run.
fn parameters_of(task: &str) -> Result<&'static [Parameter], Response> {
    if let Some((_, p)) = TASKS.iter().find(|(t, _)| *t == task) {
        return Ok(p);
    }
    if NOT_RUN.contains(&task) {
        return Err(error(
            400,
            "Unable to complete operation.",
            &[&format!(
                "The sandbox does not run the '{task}' task (it runs CreateMapArea and SetupMapArea)."
            )],
        ));
    }
    Err(error(400, "Invalid URL", &[]))
}

/// `GET …/GPServer/<task>`: its parameters.
fn task_info(call: &Call, task: &str) -> Result<Response, Response> {
    let parameters = parameters_of(task)?;
    let parameters: Vec<Value> = parameters
        .iter()
        .map(|p| {
            json!({
                "name": p.name, "dataType": "GPString", "displayName": p.display,
                "description": "", "direction": if p.kind == DERIVED {
                    "esriGPParameterDirectionOutput"
                } else {
                    "esriGPParameterDirectionInput"
                },
                "defaultValue": if p.name == "areaType" { json!("BOOKMARK") } else { json!("") },
                "parameterType": p.kind, "category": "",
            })
        })
        .collect();
    Ok(call.reply(&json!({
        "name": task, "displayName": task, "description": "", "category": "", "helpUrl": "",
        "executionType": "esriExecutionTypeAsynchronous", "parameters": parameters,
    })))
}

/// `submitJob`: the parameters checked (an unknown one is refused, never ignored), the task run,
/// its outcome kept for the job's status.
fn submit(call: &Call, task: &str, parameters: &[Parameter]) -> Result<Response, Response> {
    const ALWAYS: &[&str] = &["f", "token", "returnZ", "returnM", "returnTrueCurves"];
    if let Some(unknown) = call.params.fields.keys().find(|k| {
        !ALWAYS.contains(&k.as_str())
            && !parameters
                .iter()
                .any(|p| p.name == k.as_str() && p.kind != DERIVED)
    }) {
        return Err(error(
            400,
            "Unable to complete operation.",
            &[&format!(
                "'{unknown}' is not a parameter of the {task} task."
            )],
        ));
    }
    for p in parameters.iter().filter(|p| p.kind == REQUIRED) {
        if call.params.get(p.name).is_none() {
            return Err(error(
                400,
                "Unable to complete operation.",
                &[&format!(
                    "Invalid value for parameter {}: it is required.",
                    p.name
                )],
            ));
        }
    }
    let outcome = match task {
        "CreateMapArea" => super::map_areas::create(call),
        _ => super::map_areas::setup(call),
    };
    let outcome = outcome
        .map(|o| {
            json!({
                "outputs": o.outputs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<serde_json::Map<_, _>>(),
                "messages": o.messages,
            })
        })
        .map_err(|message| json!({ "messages": [message] }));
    let id = super::jobs::record(call, format!("j{}", crate::new_id()), outcome);
    Ok(call.reply(&json!({"jobId": id, "jobStatus": "esriJobSubmitted"})))
}

/// `jobs/<id>`: executing until the job latency has passed, then succeeded (with the paths of
/// its results) or failed, with its messages.
fn status(call: &Call, task: &str, id: &str) -> Result<Response, Response> {
    let parameters = parameters_of(task)?;
    let (_, ready, outcome) = super::jobs::lookup(call, id)
        .ok_or_else(|| error(400, "Unable to complete operation.", &["Job not found."]))?;
    let ended = crate::now_ms() >= ready;
    let inputs: serde_json::Map<String, Value> = parameters
        .iter()
        .filter(|p| p.kind != DERIVED)
        .map(|p| {
            (
                p.name.to_owned(),
                json!({"paramUrl": format!("inputs/{}", p.name)}),
            )
        })
        .collect();
    let mut out = json!({"jobId": id, "inputs": inputs, "results": {}, "messages": []});
    if !ended {
        out["jobStatus"] = json!("esriJobExecuting");
        return Ok(call.reply(&out));
    }
    let message = |kind: &str, text: &Value| json!({"type": kind, "description": text});
    match outcome {
        Ok(done) => {
            out["jobStatus"] = json!("esriJobSucceeded");
            out["results"] = done["outputs"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| (k.clone(), json!({"paramUrl": format!("results/{k}")})))
                .collect::<serde_json::Map<_, _>>()
                .into();
            out["messages"] = done["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| message("esriJobMessageTypeWarning", m))
                .collect();
        }
        Err(failed) => {
            out["jobStatus"] = json!("esriJobFailed");
            out["messages"] = failed["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| message("esriJobMessageTypeError", m))
                .collect();
        }
    }
    Ok(call.reply(&out))
}

/// `jobs/<id>/results/<name>`: `{"paramName", "dataType", "value"}` of a job that succeeded.
fn result(call: &Call, task: &str, id: &str, name: &str) -> Result<Response, Response> {
    parameters_of(task)?;
    let not_found = || {
        error(
            400,
            "Unable to complete operation.",
            &[&format!("Result '{name}' of job {id} not found.")],
        )
    };
    let (_, ready, outcome) = super::jobs::lookup(call, id).ok_or_else(not_found)?;
    let value = outcome
        .ok()
        .filter(|_| crate::now_ms() >= ready)
        .and_then(|o| o["outputs"].get(name).cloned())
        .ok_or_else(not_found)?;
    Ok(call.reply(&json!({"paramName": name, "dataType": "GPString", "value": value})))
}
