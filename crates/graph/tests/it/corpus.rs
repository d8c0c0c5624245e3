//! Every corpus sample (`fixtures/corpus/`, from `shared/corpus/`) against its expectations
//! (`tests/expected.json`, which is `fixtures/corpus/EXPECTED.md` as data): nothing missed,
//! nothing added, look-alikes never reported.

use std::collections::BTreeSet;
use std::path::PathBuf;

use orgpack_graph::{Context, Part, RefKind, Reference, references};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kind(name: &str) -> RefKind {
    match name {
        "item" => RefKind::Item,
        "service" => RefKind::Service,
        "serviceName" => RefKind::ServiceName,
        "group" => RefKind::Group,
        "portalUrl" => RefKind::PortalUrl,
        "orgId" => RefKind::OrgId,
        "resource" => RefKind::Resource,
        "selfRef" => RefKind::SelfRef,
        "folder" => RefKind::Folder,
        other => panic!("unknown kind {other}"),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A corpus case: the sample, how it is read, and its context.
pub struct Sample {
    pub file: String,
    pub doc: Value,
    /// The file as written, formatting and key order included.
    pub text: String,
    part: String,
    item_type: String,
    keywords: Vec<String>,
    pub portal_urls: Vec<String>,
    pub self_id: Option<String>,
}

impl Sample {
    pub fn part(&self) -> Part<'_> {
        match self.part.split_once(' ') {
            Some(("resource", path)) => Part::Resource(path),
            Some(("service", kind)) => Part::Service(kind),
            _ => match self.part.as_str() {
                "data" => Part::Data,
                "item" => Part::Item,
                "group" => Part::Group,
                "group content" => Part::GroupContent,
                other => panic!("{}: unknown part {other}", self.file),
            },
        }
    }

    pub fn context<'a>(
        &'a self,
        self_id: Option<&'a str>,
        portal_urls: &'a [String],
    ) -> Context<'a> {
        Context {
            item_type: &self.item_type,
            type_keywords: &self.keywords,
            self_id,
            portal_urls,
        }
    }
}

/// Every case of `tests/expected.json`, loaded.
pub fn samples() -> Vec<(Sample, Value)> {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(root().join("tests/expected.json")).unwrap())
            .unwrap();
    expected["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let file = case["file"].as_str().unwrap().to_owned();
            let text =
                std::fs::read_to_string(root().join("../../fixtures/corpus").join(&file)).unwrap();
            let doc = serde_json::from_str(&text).unwrap();
            let sample = Sample {
                file,
                doc,
                text,
                part: case["part"].as_str().unwrap().to_owned(),
                item_type: case["type"].as_str().unwrap().to_owned(),
                keywords: strings(case.get("keywords")),
                portal_urls: strings(case.get("portalUrls")),
                self_id: case
                    .get("selfId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            (sample, case.clone())
        })
        .collect()
}

fn run(case: &Value) -> (String, Vec<Reference>) {
    let file = case["file"].as_str().unwrap();
    let doc: Value = serde_json::from_slice(
        &std::fs::read(root().join("../../fixtures/corpus").join(file)).unwrap(),
    )
    .unwrap();
    let part_spec = case["part"].as_str().unwrap();
    let part = match part_spec.split_once(' ') {
        Some(("resource", path)) => Part::Resource(path),
        Some(("service", kind)) => Part::Service(kind),
        _ => match part_spec {
            "data" => Part::Data,
            "item" => Part::Item,
            "group" => Part::Group,
            "group content" => Part::GroupContent,
            other => panic!("{file}: unknown part {other}"),
        },
    };
    let keywords = strings(case.get("keywords"));
    let portal_urls = strings(case.get("portalUrls"));
    let ctx = Context {
        item_type: case["type"].as_str().unwrap(),
        type_keywords: &keywords,
        self_id: case.get("selfId").and_then(Value::as_str),
        portal_urls: &portal_urls,
    };
    (file.to_owned(), references(&ctx, part, &doc))
}

#[test]
fn every_sample_yields_exactly_the_expected_references() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(root().join("tests/expected.json")).unwrap())
            .unwrap();
    let cases = expected["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let (file, found) = run(case);
        let found_set: BTreeSet<(RefKind, String, Option<u32>)> = found
            .iter()
            .map(|r| (r.kind, r.value.clone(), r.layer))
            .collect();
        let mut want_set = BTreeSet::new();
        for e in case["expect"].as_array().unwrap() {
            let key = (
                kind(e["kind"].as_str().unwrap()),
                e["value"].as_str().unwrap().to_owned(),
                e.get("layer")
                    .and_then(Value::as_u64)
                    .map(|l| u32::try_from(l).unwrap()),
            );
            let matching: Vec<&Reference> = found
                .iter()
                .filter(|r| r.kind == key.0 && r.value == key.1 && r.layer == key.2)
                .collect();
            let external = e.get("external").and_then(Value::as_bool).unwrap_or(false);
            if !matching.is_empty() && matching.iter().any(|r| r.external != external) {
                failures.push(format!(
                    "{file}: `{}` should have external = {external}",
                    key.1
                ));
            }
            for path in strings(e.get("paths")) {
                if !matching
                    .iter()
                    .any(|r| r.path.find('$').is_some_and(|at| r.path[at..] == path))
                {
                    failures.push(format!("{file}: `{}` not found at {path}", key.1));
                }
            }
            want_set.insert(key);
        }
        for missing in want_set.difference(&found_set) {
            failures.push(format!("{file}: missed {missing:?}"));
        }
        for extra in found_set.difference(&want_set) {
            failures.push(format!("{file}: added {extra:?}"));
        }
        // A look-alike is never a reference of its own; it may be part of a service URL's name.
        for bad in strings(case.get("mustNot")) {
            if let Some(r) = found
                .iter()
                .find(|r| r.value == bad || (r.kind != RefKind::Service && r.value.contains(&bad)))
            {
                failures.push(format!("{file}: look-alike `{bad}` reported as {r:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases.len(), 28, "every corpus sample has a case");
}

#[test]
fn the_generic_scan_finds_known_ids_in_any_document_and_nothing_else() {
    use std::collections::BTreeSet;

    use orgpack_graph::known_references;
    for (sample, case) in samples() {
        let ctx = sample.context(sample.self_id.as_deref(), &sample.portal_urls);
        let found = references(&ctx, sample.part(), &sample.doc);
        let known_items: BTreeSet<String> = found
            .iter()
            .filter(|r| r.kind == RefKind::Item && orgpack_graph::text::is_item_id(&r.value))
            .map(|r| r.value.clone())
            .collect();
        let known_services: BTreeSet<String> = found
            .iter()
            .filter(|r| r.kind == RefKind::Service)
            .map(|r| r.value.clone())
            .collect();
        let scanned = known_references(
            sample.part(),
            &sample.doc,
            &|id| known_items.contains(id),
            &|service| known_services.contains(service),
        );
        // Every 32-hex item and every service the rules found, the scan finds too, without rules.
        for id in &known_items {
            assert!(
                scanned.iter().any(|r| &r.value == id),
                "{}: scan missed {id}",
                sample.file
            );
        }
        for s in &known_services {
            assert!(
                scanned.iter().any(|r| &r.value == s),
                "{}: scan missed {s}",
                sample.file
            );
        }
        for r in &scanned {
            assert!(
                known_items.contains(&r.value) || known_services.contains(&r.value),
                "{}: scan added {r:?}",
                sample.file
            );
        }
        for bad in strings(case.get("mustNot")) {
            assert!(
                !scanned.iter().any(|r| r.value == bad),
                "{}: scan reported look-alike {bad}",
                sample.file
            );
        }
    }
}
