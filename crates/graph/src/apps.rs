//! Links to Experience Builder apps and StoryMaps, in the form each kind of portal serves them:
//! ArcGIS Online from its own app hosts (`https://experience.arcgis.com/experience/<id>`,
//! `https://storymaps.arcgis.com/stories/<id>`, `…/collections/<id>`), ArcGIS Enterprise under the
//! portal (`<portal>/apps/experiencebuilder/experience/?id=<id>`,
//! `<portal>/apps/storymaps/stories/<id>`, `…/collections/<id>`). A restore into the other kind of
//! portal moves the links to the backup's own apps to the target's form ([`moved_links`]).

use crate::text::is_item_id;

/// Where a portal's Experience Builder apps and stories are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppsHome {
    /// ArcGIS Online: `experience.arcgis.com` and `storymaps.arcgis.com`.
    Online,
    /// ArcGIS Enterprise: under the portal's base URL (`https://gis.example.gov/portal`).
    Portal(String),
}

/// An app a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// An Experience Builder app.
    Experience,
    /// A story.
    Story,
    /// A StoryMaps collection.
    Collection,
}

/// The link prefixes of ArcGIS Online's app hosts, each followed by the item id.
const ONLINE: &[(&str, App)] = &[
    ("https://experience.arcgis.com/experience/", App::Experience),
    ("https://storymaps.arcgis.com/stories/", App::Story),
    ("https://storymaps.arcgis.com/collections/", App::Collection),
];

/// The paths under an Enterprise portal, each followed by the item id.
const PORTAL: &[(&str, App)] = &[
    ("/apps/experiencebuilder/experience/?id=", App::Experience),
    (
        "/apps/experiencebuilder/experience/index.html?id=",
        App::Experience,
    ),
    ("/apps/storymaps/stories/", App::Story),
    ("/apps/storymaps/collections/", App::Collection),
];

/// The link to `id`, an `app`, at `home`.
#[must_use]
pub fn link(home: &AppsHome, app: App, id: &str) -> String {
    match (home, app) {
        (AppsHome::Online, App::Experience) => {
            format!("https://experience.arcgis.com/experience/{id}")
        }
        (AppsHome::Online, App::Story) => format!("https://storymaps.arcgis.com/stories/{id}"),
        (AppsHome::Online, App::Collection) => {
            format!("https://storymaps.arcgis.com/collections/{id}")
        }
        (AppsHome::Portal(p), App::Experience) => {
            format!("{p}/apps/experiencebuilder/experience/?id={id}")
        }
        (AppsHome::Portal(p), App::Story) => format!("{p}/apps/storymaps/stories/{id}"),
        (AppsHome::Portal(p), App::Collection) => format!("{p}/apps/storymaps/collections/{id}"),
    }
}

/// A link to an app inside a text: `text[start..end]` is the link up to and including the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLink<'a> {
    /// Where the link starts.
    pub start: usize,
    /// Where its id ends.
    pub end: usize,
    /// What it opens.
    pub app: App,
    /// The item id.
    pub id: &'a str,
}

/// The app links inside `text`: ArcGIS Online's forms, and Enterprise's under any of `portals`
/// (base URLs without a trailing slash).
#[must_use]
pub fn app_links<'a>(text: &'a str, portals: &[String]) -> Vec<AppLink<'a>> {
    let mut prefixes: Vec<(String, App)> = ONLINE
        .iter()
        .map(|(p, app)| ((*p).to_owned(), *app))
        .collect();
    for portal in portals {
        for (path, app) in PORTAL {
            prefixes.push((format!("{portal}{path}"), *app));
        }
    }
    let mut out = Vec::new();
    for (prefix, app) in &prefixes {
        let mut from = 0;
        while let Some(rel) = text[from..].find(prefix.as_str()) {
            let start = from + rel;
            let at = start + prefix.len();
            if let Some(id) = text.get(at..at + 32)
                && is_item_id(id)
                && !text
                    .as_bytes()
                    .get(at + 32)
                    .is_some_and(u8::is_ascii_alphanumeric)
            {
                out.push(AppLink {
                    start,
                    end: at + 32,
                    app: *app,
                    id,
                });
            }
            from = at;
        }
    }
    out.sort_by_key(|l| l.start);
    out
}

/// For a restore into a portal whose apps live at `home`: each link in `text` to an app `new_id`
/// maps (the backup's own apps), with the link in `home`'s form and the new id. Pairs of (old
/// link, new link); links already in `home`'s form are left to the id rewrite.
#[must_use]
pub fn moved_links(
    text: &str,
    source_portals: &[String],
    home: &AppsHome,
    new_id: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for l in app_links(text, source_portals) {
        let old = &text[l.start..l.end];
        let online_form = ONLINE.iter().any(|(p, _)| old.starts_with(p));
        if *home == AppsHome::Online && online_form {
            continue;
        }
        let Some(id) = new_id(l.id) else { continue };
        if !out.iter().any(|(o, _)| o == old) {
            out.push((old.to_owned(), link(home, l.app, &id)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn links_of_both_kinds_are_found_and_moved_each_way() {
        let portals = ["https://gis.city.gov/portal".to_owned()];
        let text = format!(
            "https://experience.arcgis.com/experience/{A}/page/Home and \
             https://gis.city.gov/portal/apps/storymaps/stories/{A}?x and \
             https://gis.city.gov/portal/apps/experiencebuilder/experience/?id={A}&page=1 and \
             https://storymaps.arcgis.com/collections/{A}"
        );
        let found = app_links(&text, &portals);
        assert_eq!(
            found.iter().map(|l| l.app).collect::<Vec<_>>(),
            [
                App::Experience,
                App::Story,
                App::Experience,
                App::Collection
            ]
        );
        let map = |id: &str| (id == A).then(|| B.to_owned());
        let to_portal = AppsHome::Portal("https://target.example/arcgis".into());
        let moved = moved_links(&text, &portals, &to_portal, &map);
        assert_eq!(
            moved[0],
            (
                format!("https://experience.arcgis.com/experience/{A}"),
                format!("https://target.example/arcgis/apps/experiencebuilder/experience/?id={B}")
            )
        );
        assert_eq!(moved.len(), 4);
        let to_online = moved_links(&text, &portals, &AppsHome::Online, &map);
        // The Online forms stay for the id rewrite; the portal's are moved to Online's hosts.
        assert_eq!(
            to_online,
            [
                (
                    format!("https://gis.city.gov/portal/apps/storymaps/stories/{A}"),
                    format!("https://storymaps.arcgis.com/stories/{B}")
                ),
                (
                    format!(
                        "https://gis.city.gov/portal/apps/experiencebuilder/experience/?id={A}"
                    ),
                    format!("https://experience.arcgis.com/experience/{B}")
                ),
            ]
        );
    }

    #[test]
    fn other_organizations_apps_and_longer_ids_are_left() {
        let portals = ["https://gis.city.gov/portal".to_owned()];
        let text = format!(
            "https://storymaps.arcgis.com/stories/{B} https://storymaps.arcgis.com/stories/{A}0"
        );
        let map = |id: &str| (id == A).then(|| B.to_owned());
        assert!(
            moved_links(&text, &portals, &AppsHome::Portal("https://t".into()), &map).is_empty()
        );
        assert_eq!(app_links(&text, &portals).len(), 1);
    }
}
