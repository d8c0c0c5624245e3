//! Whether a hosted feature service changed since the parent snapshot, when its item did not.
//!
//! Field edits move a layer's `editingInfo.lastEditDate`, and schema and setting changes its
//! definition, but neither moves the item's `modified`: a nightly backup that reused a service by
//! its item alone would keep the first night's export for ever. So every hosted feature service
//! (view or not) is read once more while planning (`<url>/layers`: every layer and table with its
//! definition and edit dates), and the snapshot records, as item annotations, a digest of that
//! answer and each layer's edit dates. An unchanged item whose service state differs from the
//! parent's is captured again, and the plan says which layers changed.

use std::collections::BTreeMap;

use orgpack_portal::{Client, Method};
use serde_json::Value;
use sha2::Digest as _;

/// The annotation holding the digest of the service's layers and tables (`sha256:<hex>`).
pub const STATE: &str = "orgpack.serviceState";
/// The annotation holding each layer's and table's edit dates: JSON `{"<id>": [lastEditDate,
/// schemaLastEditDate]}`.
pub const EDITS: &str = "orgpack.layerEdits";

/// A hosted feature service's state, as its `layers` resource answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// `sha256:<hex>` of every layer's and table's definition and edit dates (extents left out:
    /// they follow from the data, which the edit dates already track).
    pub digest: String,
    /// Layer or table id → (`lastEditDate`, `schemaLastEditDate`), 0 when not reported.
    pub edits: BTreeMap<u64, (i64, i64)>,
}

impl ServiceState {
    /// The state from a `<url>/layers` answer.
    #[must_use]
    pub fn of(answer: &Value) -> Self {
        let mut edits = BTreeMap::new();
        let mut canonical = Vec::new();
        for key in ["layers", "tables"] {
            for layer in answer[key].as_array().into_iter().flatten() {
                let id = layer["id"].as_u64().unwrap_or_default();
                let info = &layer["editingInfo"];
                edits.insert(
                    id,
                    (
                        info["lastEditDate"].as_i64().unwrap_or(0),
                        info["schemaLastEditDate"].as_i64().unwrap_or(0),
                    ),
                );
                let mut layer = layer.clone();
                if let Some(o) = layer.as_object_mut() {
                    o.remove("extent");
                }
                canonical.push((key, id, layer));
            }
        }
        canonical.sort_by_key(|(key, id, _)| (*key, *id));
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        Self {
            digest: format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes))),
            edits,
        }
    }

    /// The annotations recording this state.
    #[must_use]
    pub fn annotations(&self) -> [(String, String); 2] {
        let edits: BTreeMap<String, [i64; 2]> = self
            .edits
            .iter()
            .map(|(id, (data, schema))| (id.to_string(), [*data, *schema]))
            .collect();
        [
            (STATE.to_owned(), self.digest.clone()),
            (
                EDITS.to_owned(),
                serde_json::to_string(&edits).unwrap_or_default(),
            ),
        ]
    }

    /// What changed since the state `parent` recorded (its annotations), in words; `None` when
    /// nothing did. A parent that recorded no state (made before orgpack recorded it) counts as
    /// changed: its export may be older than the service's last edit.
    #[must_use]
    pub fn changed_since(&self, parent: &BTreeMap<String, String>) -> Option<String> {
        let Some(before) = parent.get(STATE) else {
            return Some("the parent snapshot recorded no service state".into());
        };
        if *before == self.digest {
            return None;
        }
        let old: BTreeMap<String, [i64; 2]> = parent
            .get(EDITS)
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_default();
        let mut said = Vec::new();
        for (id, (data, schema)) in &self.edits {
            match old.get(&id.to_string()) {
                None => said.push(format!("layer {id} added")),
                Some([_, s]) if *s != *schema => {
                    said.push(format!("layer {id} schema changed ({s} → {schema})"));
                }
                Some([d, _]) if *d != *data => {
                    said.push(format!("layer {id} edited ({d} → {data})"));
                }
                Some(_) => {}
            }
        }
        for id in old.keys() {
            if id
                .parse::<u64>()
                .is_ok_and(|i| !self.edits.contains_key(&i))
            {
                said.push(format!("layer {id} removed"));
            }
        }
        if said.is_empty() {
            said.push("its layer definitions changed".into());
        }
        Some(said.join(", "))
    }
}

/// The state of the hosted feature service at `url` (`…/FeatureServer`).
///
/// # Errors
/// As [`Client::call`].
pub async fn read(client: &Client, url: &str) -> Result<ServiceState, orgpack_portal::Error> {
    let url = url.trim_end_matches('/');
    let answer = client
        .call("service layers", Method::Get, &format!("{url}/layers"), &[])
        .await?;
    Ok(ServiceState::of(&answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layers(edit: i64, schema: i64, alias: &str) -> Value {
        json!({"layers": [{"id": 0, "name": "Hydrants", "alias": alias,
            "editingInfo": {"lastEditDate": edit, "schemaLastEditDate": schema},
            "extent": {"xmin": edit}}], "tables": []})
    }

    #[test]
    fn edits_schema_and_definitions_are_changes_extents_are_not() {
        let first = ServiceState::of(&layers(10, 5, "H"));
        let parent: BTreeMap<String, String> = first.annotations().into_iter().collect();
        assert_eq!(first.changed_since(&parent), None);
        let edited = ServiceState::of(&layers(20, 5, "H"));
        assert_eq!(
            edited.changed_since(&parent).as_deref(),
            Some("layer 0 edited (10 → 20)")
        );
        let schema = ServiceState::of(&layers(20, 20, "H"));
        assert_eq!(
            schema.changed_since(&parent).as_deref(),
            Some("layer 0 schema changed (5 → 20)")
        );
        let renamed = ServiceState::of(&layers(10, 5, "Fire hydrants"));
        assert_eq!(
            renamed.changed_since(&parent).as_deref(),
            Some("its layer definitions changed")
        );
        let mut moved = layers(10, 5, "H");
        moved["layers"][0]["extent"] = json!({"xmin": 99});
        assert_eq!(ServiceState::of(&moved).changed_since(&parent), None);
        assert!(first.changed_since(&BTreeMap::new()).is_some());
    }
}
