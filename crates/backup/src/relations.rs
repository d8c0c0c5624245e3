//! Which relationship types to ask about for an item. The portal has no "all relationships" call
//! (shared/reference/portal-rest-api.md §5.5); Esri's solution.js asks all 26 types of every item,
//! one request each. The plan asks only the types whose origin can be the item's type (§10,
//! origin → destination per type), all of them in one request first (`relationshipTypes`), and
//! type by type only for an item that has any.
//!
//! Only the forward direction is asked: the origin depends on the destination (a map on its
//! services, a form on its service, a service on its source file), so forward relationships are
//! the dependencies, and a reverse relationship between two captured items is the forward one of
//! the other item.

/// Relationship types whose origin is any item type.
const ANY_ORIGIN: &[&str] = &["Item2Attachment", "Item2Report", "Listed2Provisioned"];

/// The relationship types worth asking `item_type` about, forward.
pub fn forward_types(item_type: &str) -> Vec<&'static str> {
    let specific: &[&str] = match item_type {
        "Web Map" => &[
            "Map2Service",
            "Map2FeatureCollection",
            "Map2AppConfig",
            "Map2Area",
            "TrackView2Map",
        ],
        "Feature Service" | "Map Service" | "Image Service" => &[
            "Service2Data",
            "Service2Service",
            "Service2Layer",
            "Service2Route",
        ],
        "Vector Tile Service" | "Style" => &["Service2Style", "Style2Style", "Service2Data"],
        "Scene Service" | "Vector Tile Layer" | "Tile Layer" => &["Service2Data"],
        "Form" => &["Survey2Service", "Survey2Data"],
        "Web Mapping Application" => &["WMA2Code"],
        "Mobile Application" => &["MobileApp2Code"],
        "Map Area" => &["Area2Package", "Area2CustomPackage"],
        "Solution" => &["Solution2Item"],
        "API Key" | "Application" => &["APIKey2Item"],
        "Workforce Project" => &["WorkforceMap2FeatureService"],
        "StoryMap" | "Story Map Theme" => &["Theme2Story"],
        "Web Style" | "Desktop Style" => &["WebStyle2DesktopStyle"],
        "Survey123 Add In" => &["SurveyAddIn2Data"],
        _ => &[],
    };
    specific.iter().chain(ANY_ORIGIN).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::forward_types;

    #[test]
    fn maps_ask_for_their_services_and_every_item_for_attachments() {
        let map = forward_types("Web Map");
        assert!(map.contains(&"Map2Service"));
        assert!(map.contains(&"Item2Attachment"));
        assert!(!map.contains(&"Survey2Service"));
        assert_eq!(
            forward_types("PDF"),
            vec!["Item2Attachment", "Item2Report", "Listed2Provisioned"]
        );
    }
}
