//! Finding ids and URLs inside strings: whole values, HTML, code, URL parameters.

/// Whether `s` is a portal item or group id: 32 hex digits.
pub fn is_item_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A service URL split into its service part and layer index:
/// `https://h/arcgis/rest/services/A/B/FeatureServer/3?x=1` → (`https://h/arcgis/rest/services/A/B/FeatureServer`, Some(3)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    /// Up to and including the service type segment.
    pub service: String,
    /// The layer or table index, if the URL names one.
    pub layer: Option<u32>,
    /// Byte range of the whole URL match in the scanned text.
    pub span: std::ops::Range<usize>,
}

const SERVICE_TYPES: &[&str] = &[
    "FeatureServer",
    "MapServer",
    "ImageServer",
    "SceneServer",
    "VectorTileServer",
    "GPServer",
    "GeocodeServer",
    "NAServer",
    "GeometryServer",
    "StreamServer",
];

/// Service types that are helpers of the organization, not data: mapped to the target's helper
/// services, never recorded as dependencies.
pub const HELPER_TYPES: &[&str] = &["GeocodeServer", "NAServer", "GeometryServer", "GPServer"];

/// Every `http(s)://…/<Type>Server[/<n>]` URL inside `text`.
pub fn service_urls(text: &str) -> Vec<ServiceUrl> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = find_scheme(&text[from..]) {
        let start = from + rel;
        let end = start
            + text[start..]
                .find(|c: char| c.is_whitespace() || "\"'<>`()[]{}\\,;|".contains(c))
                .unwrap_or(text.len() - start);
        // A URL ending a sentence does not own the period.
        let url = text[start..end].trim_end_matches(['.', ',', ':', ';', '!', '?']);
        if let Some(found) = split_service(url) {
            out.push(ServiceUrl {
                span: start..start + found.2,
                service: found.0,
                layer: found.1,
            });
            from = start + found.2;
        } else {
            // Not a service URL itself, but one may be nested in its parameters.
            from = start + "http://".len();
        }
    }
    out
}

fn find_scheme(s: &str) -> Option<usize> {
    let a = s.find("http://");
    let b = s.find("https://");
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// (service URL, layer, length of the matched prefix) for a URL that names a service.
fn split_service(url: &str) -> Option<(String, Option<u32>, usize)> {
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..path_end];
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| SERVICE_TYPES.contains(s))?;
    if at < 3 {
        return None;
    }
    let service = segments[..=at].join("/");
    // A service URL carried as a parameter of another URL ends at the next `&`.
    let layer = segments
        .get(at + 1)
        .and_then(|s| s.split(['&', ';']).next())
        .and_then(|s| s.parse::<u32>().ok());
    let mut len = service.len();
    if let Some(l) = layer {
        len += 1 + l.to_string().len();
    }
    Some((service, layer, len))
}

/// 32-hex ids standing alone inside `text`: not part of a longer run of letters, digits or
/// underscores, and not percent-encoded fragments (`%2F77e8…`).
pub fn embedded_ids(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 32 <= bytes.len() {
        let word_before = i > 0 && is_word(bytes[i - 1]);
        if !word_before && bytes[i..i + 32].iter().all(u8::is_ascii_hexdigit) {
            let word_after = bytes.get(i + 32).is_some_and(|b| is_word(*b));
            let percent_encoded =
                i >= 3 && bytes[i - 3] == b'%' && bytes[i - 2].is_ascii_hexdigit();
            if !word_after && !percent_encoded {
                out.push((i, &text[i..i + 32]));
                i += 32;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Markers after which a portal item id follows in links and URL templates.
const ID_MARKERS: &[&str] = &[
    "item.html?id=",
    "?id=",
    "&id=",
    "appid=",
    "webmap=",
    "itemID=",
    "itemId=",
    "/items/",
    "/stories/",
    "/collections/",
    "/experience/",
    // Dashboards: `/apps/dashboards/<id>` (and the `#/<id>` form it redirects from), and the
    // classic `/apps/opsdashboard/index.html#/<id>`.
    "/apps/dashboards/",
    "/apps/dashboards/#/",
    "/opsdashboard/index.html#/",
];

/// Characters that end a URL inside text (markdown, HTML, JSON in a string, code).
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '<' | '>' | ')' | ']' | '}' | '|' | '`' | '\\'
        )
}

/// Item ids in links to the organization's own portal (any of `portal_urls`) inside `text`, in
/// every form a portal writes them: `/home/item.html?id=`, `/apps/mapviewer/index.html?webmap=`,
/// `/apps/webappviewer/index.html?id=`, `/apps/instant/<app>/index.html?appid=`,
/// `/apps/dashboards/<id>`, `/apps/opsdashboard/index.html#/<id>`, `/apps/experiencebuilder/…?id=`,
/// `/experience/<id>`, `/stories/<id>`, `/apps/CrowdsourceManager/…?appid=`,
/// `/sharing/rest/content/items/<id>`, each with its byte offset. Links to other hosts are not
/// the organization's (another organization's app is not a dependency; ArcGIS Online's app hosts,
/// which serve every organization's, are [`online_app_links`]).
pub fn portal_links<'a>(text: &'a str, portal_urls: &[String]) -> Vec<(usize, &'a str)> {
    links_under(text, portal_urls.iter().map(String::as_str))
}

/// Item ids in links inside `text` to a path under any of `bases` (a URL without its trailing
/// `/`), in the forms [`linked_ids`] knows, each with its byte offset once.
fn links_under<'a, 'b>(
    text: &'a str,
    bases: impl Iterator<Item = &'b str>,
) -> Vec<(usize, &'a str)> {
    let mut out: Vec<(usize, &'a str)> = Vec::new();
    for base in bases {
        let base = base.trim_end_matches('/');
        if base.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(rel) = text[from..].find(base) {
            let start = from + rel;
            let rest = &text[start + base.len()..];
            from = start + base.len();
            if !rest.starts_with('/') {
                continue;
            }
            let end = rest.find(ends_url).unwrap_or(rest.len());
            let url = &text[start..start + base.len() + end];
            for (at, id) in linked_ids(url) {
                if !out.iter().any(|(o, _)| *o == start + at) {
                    out.push((start + at, id));
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// ArcGIS Online's own hosts for apps of every organization: Experience Builder
/// (`https://experience.arcgis.com/experience/<id>`) and StoryMaps
/// (`https://storymaps.arcgis.com/stories/<id>`, `…/collections/<id>`).
const ONLINE_APP_HOSTS: &[&str] = &[
    "https://experience.arcgis.com",
    "https://storymaps.arcgis.com",
];

/// Item ids in links to ArcGIS Online's app hosts inside `text`, each with its byte offset. The
/// host serves every organization's apps, so the item may be this organization's or another's.
pub fn online_app_links(text: &str) -> Vec<(usize, &str)> {
    links_under(text, ONLINE_APP_HOSTS.iter().copied())
}

/// Item ids that follow a link marker inside `text` (`item.html?id=<id>`, `itemID=<id>`,
/// `/content/items/<id>/…`, `/stories/<id>`), each with its byte offset.
pub fn linked_ids(text: &str) -> Vec<(usize, &str)> {
    let mut out: Vec<(usize, &str)> = Vec::new();
    for marker in ID_MARKERS {
        let mut from = 0;
        while let Some(rel) = text[from..].find(marker) {
            let start = from + rel + marker.len();
            if let Some(candidate) = text.get(start..start + 32)
                && is_item_id(candidate)
                && !text
                    .as_bytes()
                    .get(start + 32)
                    .is_some_and(u8::is_ascii_alphanumeric)
                && !out.iter().any(|(at, _)| *at == start)
            {
                out.push((start, candidate));
            }
            from = start;
        }
    }
    out.sort_unstable();
    out
}

/// Item ids passed to Arcade's `FeatureSetByPortalItem(portal, 'itemId', layer, …)`.
pub fn arcade_item_ids(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("FeatureSetByPortalItem(") {
        let start = from + rel;
        let call_end = text[start..].find(')').map_or(text.len(), |e| start + e);
        // The portal argument may itself be a call (`Portal('…')`); look past its parenthesis.
        let args_end = text[call_end + 1..]
            .find(')')
            .map_or(text.len(), |e| call_end + 1 + e);
        let args = &text[start..args_end];
        for quote in ['\'', '"'] {
            let mut i = 0;
            while let Some(q) = args[i..].find(quote) {
                let at = i + q + 1;
                if let Some(candidate) = args.get(at..at + 32)
                    && is_item_id(candidate)
                    && args[at + 32..].starts_with(quote)
                {
                    out.push((start + at, candidate));
                }
                i = at;
            }
        }
        from = start + 1;
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The portal base URL of an ArcGIS Online organization or Enterprise portal inside a URL:
/// `https://myorg.maps.arcgis.com/sharing/rest/…` → `https://myorg.maps.arcgis.com`. The global
/// hosts (`www.arcgis.com`, `arcgis.com`) are not organization URLs.
pub fn org_portal_url(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    let scheme_len = url.len() - rest.len();
    let is_org_host = (host.ends_with(".maps.arcgis.com")
        || host.ends_with(".mapsqa.arcgis.com")
        || host.ends_with(".mapsdevext.arcgis.com"))
        && host.split('.').count() == 4;
    if is_org_host {
        return Some(url[..scheme_len + host_end].to_owned());
    }
    // Enterprise: https://host/<webadaptor>/sharing/rest…
    if let Some(i) = url.find("/sharing/rest") {
        let base = &url[..i];
        if !is_global_host(host) {
            return Some(base.to_owned());
        }
    }
    None
}

/// Hosts run by Esri for everyone.
pub fn is_global_host(host: &str) -> bool {
    matches!(
        host,
        "www.arcgis.com"
            | "arcgis.com"
            | "services.arcgisonline.com"
            | "server.arcgisonline.com"
            | "geocode.arcgis.com"
            | "basemaps.arcgis.com"
            | "basemaps-api.arcgis.com"
            | "tiles.arcgis.com"
            | "static.arcgis.com"
            | "js.arcgis.com"
            | "cdn.arcgis.com"
            | "storymaps.arcgis.com"
            | "experience.arcgis.com"
            | "survey123.arcgis.com"
    )
}

/// The host of a URL.
pub fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(&rest[..rest.find(['/', '?', '#', ':']).unwrap_or(rest.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_with_layers_and_parameters() {
        let text = r#"see "https://services7.arcgis.com/org/arcgis/rest/services/A_B/FeatureServer/12?where=1" and http://h/x/MapServer."#;
        let found = service_urls(text);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].service,
            "https://services7.arcgis.com/org/arcgis/rest/services/A_B/FeatureServer"
        );
        assert_eq!(found[0].layer, Some(12));
        assert_eq!(
            &text[found[0].span.clone()],
            "https://services7.arcgis.com/org/arcgis/rest/services/A_B/FeatureServer/12"
        );
        assert_eq!(found[1].service, "http://h/x/MapServer");
        assert_eq!(found[1].layer, None);
    }

    #[test]
    fn service_url_inside_a_parameter_keeps_its_layer() {
        let t = "https://collector.arcgis.app?featureSourceURL=https://s/arcgis/rest/services/X/FeatureServer/0&featureAttributes=%7B%7D";
        let found = service_urls(t);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].layer, Some(0));
        assert_eq!(
            &t[found[0].span.clone()],
            "https://s/arcgis/rest/services/X/FeatureServer/0"
        );
    }

    #[test]
    fn links_to_the_portals_own_apps_in_every_form() {
        let id = "77e8b0e3d393497190735e03f05b2d69";
        let org = "https://democity.maps.arcgis.com";
        let portals = [org.to_owned(), "https://gis.democity.gov/portal".to_owned()];
        for form in [
            format!("{org}/home/item.html?id={id}"),
            format!("{org}/apps/mapviewer/index.html?webmap={id}"),
            format!("{org}/home/webmap/viewer.html?webmap={id}&extent=1,2,3,4"),
            format!("{org}/apps/webappviewer/index.html?id={id}"),
            format!("{org}/apps/instant/sidebar/index.html?appid={id}"),
            format!("{org}/apps/dashboards/{id}"),
            format!("{org}/apps/dashboards/#/{id}"),
            format!("{org}/apps/opsdashboard/index.html#/{id}"),
            format!("{org}/apps/experiencebuilder/experience/?id={id}"),
            format!("{org}/apps/CrowdsourceManager/index.html?appid={id}"),
            format!("{org}/sharing/rest/content/items/{id}/data"),
            format!("https://gis.democity.gov/portal/apps/dashboards/{id}"),
        ] {
            let text = format!("See [the dashboard]({form}) for today's figures.");
            assert_eq!(
                portal_links(&text, &portals),
                vec![(text.find(id).unwrap(), id)],
                "{form}"
            );
        }
        // Another organization's app, a look-alike host and a bare id are not links here.
        for text in [
            format!("https://othercity.maps.arcgis.com/apps/dashboards/{id}"),
            format!("https://democity.maps.arcgis.com.evil.example/apps/dashboards/{id}"),
            format!("dashboard {id}"),
        ] {
            assert!(portal_links(&text, &portals).is_empty(), "{text}");
        }
    }

    #[test]
    fn links_on_arcgis_onlines_app_hosts_name_their_item() {
        let id = "0123456789abcdef0123456789abcdef";
        let text = format!(
            "see https://experience.arcgis.com/experience/{id}/page/Home and \
             <a href=\"https://storymaps.arcgis.com/stories/{id}\">the story</a>; not \
             https://example.com/stories/{id}"
        );
        let found: Vec<&str> = online_app_links(&text)
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        assert_eq!(found, [id, id]);
    }

    #[test]
    fn embedded_ids_skip_lookalikes() {
        let id = "6e02b538bea841ed858ef9f52709b655";
        assert_eq!(embedded_ids(&format!("item.html?id={id})")), vec![(13, id)]);
        assert!(
            embedded_ids(&format!("service_{id}_x")).is_empty(),
            "part of a name"
        );
        assert!(
            embedded_ids("%2F77e8b0e3d393497190735e03f05b2d69").is_empty(),
            "percent-encoded"
        );
        assert!(
            embedded_ids("3f281598-2571-42c8-9fe7-fa7d18819bc3").is_empty(),
            "a UUID"
        );
    }

    #[test]
    fn linked_ids_follow_markers_only() {
        let id = "79625fd36f30420a8b961df47dae8bbf";
        let t = format!(
            "https://collector.arcgis.app?itemID={id}&center=1&key=88b6786539b84dd89cd29d1d50728eea"
        );
        assert_eq!(linked_ids(&t), vec![(36, id)]);
        assert_eq!(
            linked_ids(&format!("https://storymaps.arcgis.com/stories/{id}")).len(),
            1
        );
    }

    #[test]
    fn arcade_portal_items() {
        let id = "7e6c41c72d4548d9a312329e0c5a984f";
        let script = format!(
            "var fs = FeatureSetByPortalItem(Portal('https://www.arcgis.com'), '{id}', 0, ['*'], false);"
        );
        assert_eq!(
            arcade_item_ids(&script),
            vec![(script.find(id).unwrap(), id)]
        );
        assert!(arcade_item_ids("var uuid = '3f281598-2571-42c8-9fe7-fa7d18819bc3';").is_empty());
    }

    #[test]
    fn org_urls() {
        assert_eq!(
            org_portal_url("https://myorg.maps.arcgis.com/sharing/rest/content"),
            Some("https://myorg.maps.arcgis.com".into())
        );
        assert_eq!(
            org_portal_url("http://www.arcgis.com/sharing/rest/content/items/x"),
            None
        );
        assert_eq!(
            org_portal_url("https://gis.example.com/portal/sharing/rest/x"),
            Some("https://gis.example.com/portal".into())
        );
    }
}
