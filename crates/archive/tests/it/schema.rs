//! The JSON Schemas in `spec/schema/` are generated from the Rust types and must match them; the
//! annotated examples in `spec/archive-format.md` must parse into the types and be valid.
//! Regenerate the schemas with `ORGPACK_BLESS=1 cargo test -p orgpack-archive schema`.

use std::path::PathBuf;

use orgpack_archive::chunk::ChunkList;
use orgpack_archive::{Index, Layout, Snapshot};

fn spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec")
}

fn check(file: &str, schema: &schemars::Schema) {
    let path = spec().join("schema").join(file);
    let mut generated = serde_json::to_string_pretty(schema).unwrap();
    generated.push('\n');
    if std::env::var_os("ORGPACK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "spec/schema/{file} is out of date with the Rust types: run `ORGPACK_BLESS=1 cargo test -p orgpack-archive schema` and review the diff"
    );
}

#[test]
fn schemas_match_the_types() {
    check("snapshot.schema.json", &schemars::schema_for!(Snapshot));
    check("index.schema.json", &schemars::schema_for!(Index));
    check("layout.schema.json", &schemars::schema_for!(Layout));
    check("chunk-list.schema.json", &schemars::schema_for!(ChunkList));
    check(
        "item-page.schema.json",
        &schemars::schema_for!(orgpack_archive::manifest::ItemPageDoc),
    );
}

/// The `json` code block that follows `<!-- example: NAME -->` in the spec, with `//` comments removed.
fn example(name: &str) -> String {
    let text = std::fs::read_to_string(spec().join("archive-format.md")).unwrap();
    let marker = format!("<!-- example: {name} -->");
    let after = &text[text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in the spec"))
        + marker.len()..];
    let start = after
        .find("```json\n")
        .expect("a json block follows the marker")
        + 8;
    let block = &after[start..start + after[start..].find("```").unwrap()];
    block
        .lines()
        .map(|l| l.split(" //").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn spec_examples_parse_into_the_types() {
    let mut snapshot: Snapshot = serde_json::from_str(&example("snapshot")).unwrap();
    assert!(!snapshot.item_layers.is_empty() && !snapshot.groups.is_empty());
    let page: orgpack_archive::manifest::ItemPageDoc =
        serde_json::from_str(&example("item-page")).unwrap();
    assert!(page.items.windows(2).all(|w| w[0].id < w[1].id));
    let layer = &snapshot.item_layers[0].pages[0];
    assert_eq!(layer.entries, page.items.len() as u64);
    assert_eq!(
        (layer.first.as_str(), layer.last.as_str()),
        (page.items[0].id.as_str(), page.items[1].id.as_str())
    );
    snapshot.items = page.items;
    assert_eq!(snapshot.problems(), Vec::<String>::new());
    let index: Index = serde_json::from_str(&example("index")).unwrap();
    assert!(index.problems().is_empty());
    let layout: Layout = serde_json::from_str(&example("layout")).unwrap();
    layout.chunker.validate().unwrap();
    let list: ChunkList = serde_json::from_str(&example("chunk-list")).unwrap();
    list.check(&list.digest, list.size).unwrap();
}
