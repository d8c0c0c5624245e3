//! An item's JSON kept compact while a backup is planned and run: the whole document as text
//! (what is stored), and the few members planning and capture read, parsed. A parsed
//! `serde_json::Value` of an item takes about eight times its text (6 KiB for a 760-byte link):
//! at 100,000 items that alone was 600 MiB of a plan.

use std::ops::Deref;

use serde_json::{Map, Value};

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

/// An item JSON: its text, and its commonly read members as a small `Value` (what `Deref` gives).
#[derive(Debug, Clone, Default)]
pub struct ItemJson {
    text: Box<str>,
    read: Value,
}

impl ItemJson {
    /// Keep `json`: serialized once (keys in order, as the snapshot has always stored it), and
    /// its commonly read members.
    #[must_use]
    pub fn new(json: &Value) -> Self {
        let text = serde_json::to_string(json)
            .unwrap_or_default()
            .into_boxed_str();
        let mut read = Map::new();
        if let Some(o) = json.as_object() {
            for key in READ {
                if let Some(v) = o.get(*key) {
                    read.insert((*key).to_owned(), v.clone());
                }
            }
        }
        Self {
            text,
            read: Value::Object(read),
        }
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

impl Deref for ItemJson {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.read
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
    }
}
