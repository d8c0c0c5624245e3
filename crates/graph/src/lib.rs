//! # orgpack-graph
//!
//! References inside ArcGIS portal content: find every item id, service URL, group id, portal URL
//! and resource path an item's JSON, data and resources point at, so that a backup captures every
//! dependency and a restore can rewrite each one. Pure functions, no network.
//!
//! [`references`] takes one JSON document of an item, the [`Part`] it is, and a [`Context`] (the
//! item's type and keywords, its own id, the source organization's portal URLs), and returns
//! [`Reference`]s with their JSON paths. Rules are per item type; unknown types get a generic
//! scan.
//!
//! Where references live, per item type, and the corpus sample (`shared/corpus/`, checked by
//! `tests/it/corpus.rs` against `tests/expected.json`) that proves each rule:
//!
//! | item type | where | sample |
//! |---|---|---|
//! | Web Map, Web Scene | `operationalLayers[]`, `tables[]` and a scene's `ground.layers[]` `itemId`/`url`, group layers' `layers[]` recursed; `baseMap.baseMapLayers[]` `itemId`, `styleUrl` (external) | `webmap/*` |
//! | Dashboard | every `type: mapWidget` `itemId`; every `dataSource` of `type: featureServiceDataSource` (`itemId`, `url`), in widgets, panels, URL parameters and views; `arcadeDataSource` ids are not items | `dashboard/*` |
//! | Web Mapping Application | `values.webmap` (string or array), `values.group`, `{webmap: {id}}` anywhere under `values` (classic Story Maps); Web AppBuilder `map.itemId`, `map.appProxy.mapItemId`, `dataSource.dataSources.*.itemId`, `appItemId` (self); service URLs in widget configs; `source` (template, external), `folderId` | `webapp/*` |
//! | Web Experience | `dataSources.*.itemId` (and child data sources), `portalUrl`s, `${appResourceUrl}/…` resources; the draft `config/config.json` resource follows the same rules | `experience/*` |
//! | StoryMap | `resources.*` of type `webmap` (`data.itemId`), `image` from `item-resource` (`data.resourceId`), `expressmap` (a resource name in `data.itemId`); embeds of other stories in `nodes.*.data.url`/`thumbnailUrl` (external); never the embed.ly key in `embedSrc` | `storymap/*` |
//! | Hub Site / Page | card `settings.initiativeId(s)`, `webmap`, `surveyId`, `itemId`, `ids[]`, `query.groups[].id`, `orgId`; a site's `values.pages[].id`, a page's `values.sites[].id`; groups in `values.groups[]`, `values.collaborationGroupId` (and in the item's `properties`: `collaborationGroupId`, `contentGroupId`, `followersGroupId`, with `parentInitiativeId`); item links in `markdown`; `fileSrc`/`cropSrc` resources | `hub/*` |
//! | Form (Survey123) | `serviceInfo.itemId` in `.info`; `portalUrl`; portal and Workflow Manager (org id) URLs in webhooks; the form's own id | `form/*` |
//! | Notebook | standalone 32-hex ids and service URLs in `cells[].source` | `notebook/*` |
//! | QuickCapture Project | `qc.project.json`: `dataSources[].featureServiceItemId`/`url`, `basemap.itemId` when a web map, `itemId` (self) | `quickcapture/*` |
//! | Workforce Project (v1) | `workerWebMapId`, `dispatcherWebMapId`, `dispatchers/assignments/workers/tracks.serviceItemId`/`url`, `groupId`, `folderId`, `itemID=` in integration `urlTemplate`s | `workforce/workforce_v1_*` |
//! | Workforce v2 (item JSON) | `properties.workforceProjectGroupId`, `workforceDispatcherMapId`, `workforceWorkerMapId`, `workforceFeatureServiceId`; integration rows (`itemID=`, `featureSourceURL=`) | `workforce/workforce_v2_*` |
//! | Feature Service documents | `<view>/sources` `services[].serviceItemId`; join view `adminLayerInfo` `sourceServiceName`; `createService` result (self); roots and layer definitions hold none (symbol image hashes are not items) | `feature-service/*` |
//! | Group | its own id, `group.<id>` tags; a content page lists the group's items | `group/*` |
//!
//! Beside the rules, [`known_references`] scans any JSON for ids and service URLs known to be in
//! the backup, whole or inside text, so content of types without rules loses nothing.
//!
//! [`rewrite`] replaces exactly what [`references`] finds, using an [`IdMap`] ([`rewrite_text`] does
//! it on JSON text, keeping key order and formatting); [`Graph`] orders
//! items dependencies-first and breaks cycles into a patching pass; [`to_svg`] draws one as a
//! picture (the HTML report's graph of failed items), beside `to_dot` and `to_mermaid`.
//!
//! In every type, Arcade's `FeatureSetByPortalItem(portal, 'itemId', …)` in any string (popups,
//! data expressions, labels) is an item reference, and so is a link to the organization's own
//! portal in any form a portal writes (`/home/item.html?id=`, `/apps/dashboards/<id>`,
//! `/apps/opsdashboard/index.html#/<id>`, `?webmap=`, `?appid=`, `/experience/<id>`,
//! `/stories/<id>`, …; [`text::portal_links`]) in any string of any part, with the portal URL it
//! is on (so a restore points it at the target's portal and the new id). A link to ArcGIS
//! Online's app hosts, which serve every organization's apps
//! (`https://experience.arcgis.com/experience/<id>`, `https://storymaps.arcgis.com/stories/<id>`;
//! [`text::online_app_links`]), is an external item reference: nothing more is captured for it,
//! but a restore orders the app first and points the link at it when the snapshot holds it; into
//! the other kind of portal, such links take the target's form ([`apps`]: Online's hosts ↔
//! Enterprise's `<portal>/apps/experiencebuilder/…`, `<portal>/apps/storymaps/…`).
//! [`item_references`] runs the rules over an item's JSON, data and resources at once.
//!
//! Service URLs on Esri's global hosts (`services.arcgisonline.com`, `geocode.arcgis.com`, …) and
//! helper services (`GeocodeServer`, `NAServer`, `GeometryServer`, `GPServer`) are not references:
//! a restore maps helpers to the target organization's own.

pub mod apps;
pub mod find;
pub mod graph;
pub mod plain;
pub mod reference;
pub mod rewrite;
pub mod svg;
pub mod text;

pub use find::{
    Context, Part, guess_type, item_references, keyword_list, known_references, references,
    type_keywords,
};
pub use graph::{Edge, Graph, Plan, Reason, relationship_edge};
pub use plain::{is_package_text, plain_references, rewrite_plain};
pub use reference::{RefKind, Reference};
pub use rewrite::{IdMap, Rewritten, RewrittenText, rewrite, rewrite_text};
pub use svg::to_svg;
