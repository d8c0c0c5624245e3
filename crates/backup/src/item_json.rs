//! An item's JSON kept compact while a backup is planned and run: the whole document as text
//! (what is stored), and the few members planning and capture read, parsed. A parsed
//! `serde_json::Value` of an item takes about eight times its text (6 KiB for a 760-byte link):
//! at 100,000 items that alone was 600 MiB of a plan.

use serde_json::Value;

/// The members read while planning and capturing; everything else is in the text only.
const READ: &[&str] = &[
    "id",
    "type",
    "typeKeywords",
    "title",
    "owner",
    "orgId",
    "modified",
    "created",
    "url",
    "name",
    "size",
    "access",
    "ownerFolder",
    "thumbnail",
];

/// An item JSON: its text, and its commonly read members (those neither null nor empty), parsed,
/// in a boxed slice: a map of them took twice the memory (a third of a 100,000-item plan).
#[derive(Debug, Clone, Default)]
pub struct ItemJson {
    text: Box<str>,
    read: Box<[(&'static str, Value)]>,
}

impl ItemJson {
    /// Keep `json`: serialized once (keys in order, as the snapshot has always stored it), and
    /// its commonly read members.
    #[must_use]
    pub fn new(json: &Value) -> Self {
        let text = serde_json::to_string(json)
            .unwrap_or_default()
            .into_boxed_str();
        let mut read = Vec::new();
        if let Some(o) = json.as_object() {
            for key in READ {
                // A null or empty member reads as a missing one (every reader takes `as_str`,
                // `as_i64` or `as_array`), and costs a map entry: about half of a link's members.
                match o.get(*key) {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(a)) if a.is_empty() => {}
                    Some(v) => read.push((*key, v.clone())),
                }
            }
        }
        Self {
            text,
            read: read.into_boxed_slice(),
        }
    }

    /// One of the commonly read members ([`READ`]); `None` for the others, and for a member
    /// that is null or an empty list.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.read.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The whole document as stored in the snapshot.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The whole document, parsed again (for reading references out of every member).
    #[must_use]
    pub fn full(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::ItemJson;

    #[test]
    fn keeps_the_text_whole_and_reads_the_members_planning_needs() {
        let json = serde_json::json!({"id": "a", "title": "T", "typeKeywords": ["Hosted Service"],
            "description": "<a href='https://x/home/item.html?id=b'>b</a>", "modified": 5});
        let kept = ItemJson::new(&json);
        assert_eq!(kept.full(), json);
        assert_eq!(kept.text(), serde_json::to_string(&json).unwrap());
        assert_eq!(kept.get("title").and_then(|v| v.as_str()), Some("T"));
        assert_eq!(
            kept.get("modified").and_then(serde_json::Value::as_i64),
            Some(5)
        );
        assert!(kept.get("description").is_none(), "only in the text");
        let sparse =
            ItemJson::new(&serde_json::json!({"id": "a", "name": null, "typeKeywords": []}));
        assert!(sparse.get("name").is_none() && sparse.get("typeKeywords").is_none());
        assert_eq!(
            sparse.full()["name"],
            serde_json::Value::Null,
            "kept in the text"
        );
    }
}
