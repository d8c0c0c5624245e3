//! The demonstration organization (`fixtures/demo-org/`): users, groups, folders, file items,
//! hosted services published from them, a view, tile and vector tile layers, maps, apps of each
//! kind (a Web AppBuilder app, a dashboard, an Experience Builder app, a StoryMap, a Hub page, a
//! notebook, a QuickCapture project), a Survey123 form and their sharing and relationships, created through the portal API as a user would (so item JSON is exactly what
//! the API makes). The fixture files are built into the binary, so `orgpack demo` needs nothing
//! on disk.

use std::collections::BTreeMap;

use orgpack_portal::{Client, ClientOptions, Content, Credentials, PortalUrl};
use serde::Deserialize;

use crate::{Error, Sandbox};

/// The fixture files, by name.
const FILES: &[(&str, &[u8])] = &[
    (
        "form.info",
        include_bytes!("../../../fixtures/demo-org/form.info"),
    ),
    (
        "form.itemInfo",
        include_bytes!("../../../fixtures/demo-org/form.itemInfo"),
    ),
    (
        "form.xml",
        include_bytes!("../../../fixtures/demo-org/form.xml"),
    ),
    (
        "form.webform",
        include_bytes!("../../../fixtures/demo-org/form.webform"),
    ),
    (
        "forminfo.json",
        include_bytes!("../../../fixtures/demo-org/forminfo.json"),
    ),
    (
        "org.json",
        include_bytes!("../../../fixtures/demo-org/org.json"),
    ),
    (
        "city-service.json",
        include_bytes!("../../../fixtures/demo-org/city-service.json"),
    ),
    (
        "inspections-service.json",
        include_bytes!("../../../fixtures/demo-org/inspections-service.json"),
    ),
    (
        "city-popups.json",
        include_bytes!("../../../fixtures/demo-org/city-popups.json"),
    ),
    (
        "experience.json",
        include_bytes!("../../../fixtures/demo-org/experience.json"),
    ),
    (
        "storymap.json",
        include_bytes!("../../../fixtures/demo-org/storymap.json"),
    ),
    (
        "hub-page.json",
        include_bytes!("../../../fixtures/demo-org/hub-page.json"),
    ),
    (
        "notebook.ipynb",
        include_bytes!("../../../fixtures/demo-org/notebook.ipynb"),
    ),
    (
        "qc-project.json",
        include_bytes!("../../../fixtures/demo-org/qc-project.json"),
    ),
    (
        "hydrant-photo.png",
        include_bytes!("../../../fixtures/demo-org/hydrant-photo.png"),
    ),
    (
        "city-map.json",
        include_bytes!("../../../fixtures/demo-org/city-map.json"),
    ),
    (
        "web-scene.json",
        include_bytes!("../../../fixtures/demo-org/web-scene.json"),
    ),
    (
        "workforce-service.json",
        include_bytes!("../../../fixtures/demo-org/workforce-service.json"),
    ),
    (
        "workforce-finish.json",
        include_bytes!("../../../fixtures/demo-org/workforce-finish.json"),
    ),
    (
        "workforce-dispatcher-map.json",
        include_bytes!("../../../fixtures/demo-org/workforce-dispatcher-map.json"),
    ),
    (
        "workforce-worker-map.json",
        include_bytes!("../../../fixtures/demo-org/workforce-worker-map.json"),
    ),
    (
        "workforce-map-properties.json",
        include_bytes!("../../../fixtures/demo-org/workforce-map-properties.json"),
    ),
    (
        "workforce-properties.json",
        include_bytes!("../../../fixtures/demo-org/workforce-properties.json"),
    ),
    (
        "hub-site.json",
        include_bytes!("../../../fixtures/demo-org/hub-site.json"),
    ),
    (
        "map-area.json",
        include_bytes!("../../../fixtures/demo-org/map-area.json"),
    ),
    (
        "inspections-map.json",
        include_bytes!("../../../fixtures/demo-org/inspections-map.json"),
    ),
    (
        "viewer-app.json",
        include_bytes!("../../../fixtures/demo-org/viewer-app.json"),
    ),
    (
        "viewer-settings.json",
        include_bytes!("../../../fixtures/demo-org/viewer-settings.json"),
    ),
    (
        "dashboard.json",
        include_bytes!("../../../fixtures/demo-org/dashboard.json"),
    ),
    (
        "metadata.xml",
        include_bytes!("../../../fixtures/demo-org/metadata.xml"),
    ),
    (
        "brochure.pdf",
        include_bytes!("../../../fixtures/demo-org/brochure.pdf"),
    ),
    (
        "logo.png",
        include_bytes!("../../../fixtures/demo-org/logo.png"),
    ),
    (
        "thumbnail-map.png",
        include_bytes!("../../../fixtures/demo-org/thumbnail-map.png"),
    ),
    (
        "thumbnail-app.png",
        include_bytes!("../../../fixtures/demo-org/thumbnail-app.png"),
    ),
    (
        "City.gdb.zip",
        include_bytes!("../../../fixtures/payloads/City.gdb.zip"),
    ),
    (
        "Inspections.gdb.zip",
        include_bytes!("../../../fixtures/payloads/Inspections.gdb.zip"),
    ),
    (
        "Hydrants.shp.zip",
        include_bytes!("../../../fixtures/payloads/Hydrants.shp.zip"),
    ),
    (
        "hydrants.csv",
        include_bytes!("../../../fixtures/payloads/hydrants.csv"),
    ),
    (
        "parcels.geojson",
        include_bytes!("../../../fixtures/payloads/parcels.geojson"),
    ),
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrgDef {
    /// The organization's name (`portals/self` `name`).
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Vec<RoleDef>,
    users: Vec<UserDef>,
    groups: Vec<GroupDef>,
    folders: Vec<FolderDef>,
    items: Vec<ItemDef>,
    /// `portals/self/update` parameters, set last (`{{group:KEY}}` placeholders filled).
    #[serde(default)]
    settings: BTreeMap<String, serde_json::Value>,
    /// The organization's content category schema.
    #[serde(default)]
    category_schema: Option<serde_json::Value>,
    /// Item properties and typeKeywords set once every item exists: what names items made after
    /// it (a Workforce project's maps).
    #[serde(default)]
    patches: Vec<PatchDef>,
}

/// Properties (a seed file, placeholders filled) and typeKeywords given to a seeded item last.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchDef {
    item: String,
    #[serde(default)]
    properties: Option<String>,
    #[serde(default)]
    type_keywords: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserDef {
    username: String,
    /// `org_admin`, `org_publisher`, `org_user`, or the name of a role in `roles`.
    role: String,
    /// Disabled once everything is seeded.
    #[serde(default)]
    disabled: bool,
    /// `community/users/<u>/update` parameters (`fullName`, `email`, `description`, `tags`, …).
    #[serde(default)]
    profile: BTreeMap<String, String>,
    /// A thumbnail file of the fixture.
    #[serde(default)]
    thumbnail: Option<String>,
}

/// A custom role, made by the administrator.
#[derive(Deserialize)]
struct RoleDef {
    name: String,
    #[serde(default)]
    description: String,
    privileges: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupDef {
    key: String,
    title: String,
    access: String,
    owner: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    members: Vec<String>,
    /// Managers besides the owner.
    #[serde(default)]
    admins: Vec<String>,
    /// `updateitemcontrol` for a shared-update group.
    #[serde(default)]
    capabilities: String,
    #[serde(default)]
    is_invitation_only: bool,
    /// A thumbnail file of the fixture.
    #[serde(default)]
    thumbnail: Option<String>,
    /// The group's content category schema.
    #[serde(default)]
    category_schema: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct FolderDef {
    owner: String,
    title: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ItemDef {
    key: String,
    owner: String,
    folder: Option<String>,
    #[serde(rename = "type")]
    item_type: Option<String>,
    title: Option<String>,
    tags: Option<String>,
    type_keywords: Option<String>,
    /// Content categories, comma-separated paths (`/Categories/Water`).
    categories: Option<String>,
    file: Option<String>,
    data: Option<String>,
    url: Option<String>,
    metadata: Option<String>,
    thumbnail: Option<String>,
    resources: BTreeMap<String, String>,
    relationships: Vec<(String, String)>,
    share: Option<ShareDef>,
    publish: Option<PublishDef>,
    view: Option<ViewDef>,
    protect: bool,
    /// Deleted once seeded: left in the recycle bin.
    recycle: bool,
    /// A Survey123 form's data: a zip made of fixture files, filled once the item exists (its
    /// files name the item itself).
    package: Option<PackageDef>,
    /// An offline map area of a web map seeded before it, made by the packaging service as
    /// Field Maps Designer and the official Python client make one (`CreateMapArea` over a
    /// bookmark, the item's `data` as its refresh settings, then `SetupMapArea`); its package is
    /// `<key>-package`.
    map_area: Option<MapAreaDef>,
    /// A Hub site made as Hub makes one on ArcGIS Online: the item, then registered as an
    /// application and its hostname (`<subdomain>-<urlKey>.hub.arcgis.com`) entered in the
    /// sandbox's Hub domain service, its data, URL and `hubsubdomain|…` typeKeyword naming it.
    /// On ArcGIS Enterprise, only the typeKeyword.
    hub_site: Option<HubSiteDef>,
    /// A hosted feature service made empty (`createService`) and defined (`addToDefinition`),
    /// as apps such as Workforce make theirs.
    create: Option<CreateDef>,
    /// The item's `properties`: a seed file, placeholders filled.
    properties: Option<String>,
    /// The item's file: a tile package made at seeding time, as ArcGIS Pro writes one.
    tile_package: Option<TilePackageDef>,
}

/// A tile package (`.tpkx`, 256-pixel PNG tiles) or vector tile package (`.vtpk`, `pbf` tiles) in
/// ArcGIS Online's tiling scheme to `maxLevel`, with a tile at level 0 and one over the city at
/// level 10.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TilePackageDef {
    vector: bool,
    name: String,
    max_level: u32,
}

impl TilePackageDef {
    /// The package's file name and bytes.
    fn build(&self) -> Result<(String, Vec<u8>), Error> {
        let root = crate::packages::web_mercator_root(self.vector, &self.name, self.max_level);
        // Level 10, row 409, column 178: the tile over the city's hydrants.
        let places = [(0, 0, 0), (10, 409, 178)];
        let bytes = if self.vector {
            // A Mapbox vector tile of one empty layer, `water` (version 2, extent 4096).
            let layer = [
                &[0x0a, 5][..],
                b"water",
                &[0x28, 0x80, 0x20, 0x78, 0x02][..],
            ]
            .concat();
            let mut tile = vec![0x1a, u8::try_from(layer.len()).unwrap_or(0)];
            tile.extend(layer);
            let tiles: Vec<(u32, u64, u64, Vec<u8>)> = places
                .iter()
                .map(|&(z, y, x)| (z, y, x, tile.clone()))
                .collect();
            let style = serde_json::json!({"version": 8, "sources": {"esri": {"type": "vector",
                "url": "../../"}}, "layers": [{"id": "water", "type": "fill", "source": "esri",
                "source-layer": "water", "paint": {"fill-color": "#a0c8f0"}}]});
            crate::packages::vector_tile_package(&root, &style, &tiles)
        } else {
            let png = solid_png([160, 200, 240, 255]).map_err(Error::Invalid)?;
            let tiles: Vec<(u32, u64, u64, Vec<u8>)> = places
                .iter()
                .map(|&(z, y, x)| (z, y, x, png.clone()))
                .collect();
            crate::packages::compact_tile_package(&root, &tiles)
        }
        .map_err(Error::Invalid)?;
        let extension = if self.vector { "vtpk" } else { "tpkx" };
        Ok((format!("{}.{extension}", self.name), bytes))
    }
}

/// A 256-pixel PNG tile of one color.
fn solid_png(rgba: [u8; 4]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 256, 256);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&rgba.repeat(256 * 256))
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A hosted feature service made by `createService`: its name (placeholders filled), its layers
/// and tables (a seed file), and what it gains once made (`demo_services`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDef {
    name: String,
    definition: String,
    #[serde(default)]
    service: Option<String>,
}

/// A Hub site's subdomain.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HubSiteDef {
    subdomain: String,
}

/// An offline map area: the key of its map, and the map's bookmark it covers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MapAreaDef {
    of: String,
    bookmark: String,
}

/// A zip made at seeding time: `files` maps each entry's path to a fixture file; text files
/// (`.info`, `.itemInfo`, `.json`, `.webform`, `.xml`) have their placeholders filled.
#[derive(Deserialize)]
struct PackageDef {
    /// The file name the item's data is uploaded as.
    name: String,
    files: BTreeMap<String, String>,
}

/// Reads a seed's file by name.
type FileReader<'a> = dyn Fn(&str) -> Result<std::borrow::Cow<'static, [u8]>, Error> + 'a;

/// The zip `package` describes, its text files filled by `filled`.
fn package_zip(
    package: &PackageDef,
    read: &FileReader<'_>,
    filled: &dyn Fn(&[u8]) -> String,
) -> Result<Vec<u8>, Error> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (entry, name) in &package.files {
        let bytes = read(name)?;
        let text = [".info", ".iteminfo", ".json", ".webform", ".xml"]
            .iter()
            .any(|s| entry.to_ascii_lowercase().ends_with(s));
        let bytes = if text {
            filled(&bytes).into_bytes()
        } else {
            bytes.to_vec()
        };
        zip.start_file(
            entry.as_str(),
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .map_err(std::io::Error::other)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

/// A hosted feature layer view of a service seeded before it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ViewDef {
    /// The key of the source service.
    of: String,
    /// The view's service name.
    name: String,
    layers: Vec<ViewLayerDef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ViewLayerDef {
    id: u64,
    name: String,
    source_layer: u64,
    #[serde(default)]
    view_definition_query: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishDef {
    from: String,
    name: String,
    file_type: String,
    /// `Tiles` or `VectorTiles` to publish a hosted feature layer (`fileType` `featureService`)
    /// as a tile layer or vector tile layer.
    #[serde(default)]
    output_type: Option<String>,
    /// The tile layer's scales (publishParameters).
    #[serde(default)]
    min_scale: Option<f64>,
    #[serde(default)]
    max_scale: Option<f64>,
    /// A seed file of what the service gains once published (`demo_services`).
    #[serde(default)]
    service: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShareDef {
    access: Option<String>,
    groups: Vec<String>,
}

/// What seeding made: ids by the fixture's keys.
#[derive(Debug, Clone, Default)]
pub struct DemoOrg {
    /// The organization's key (its URL path segment).
    pub org: String,
    /// Item ids by key (`city`, `city-map`, …).
    pub items: BTreeMap<String, String>,
    /// Group ids by key.
    pub groups: BTreeMap<String, String>,
    /// Items left in the recycle bin, by key (not in `items`: nothing sees them).
    pub recycled: BTreeMap<String, String>,
    /// Service URLs by item key.
    pub urls: BTreeMap<String, String>,
}

/// Where a seed's files come from: built in (the demo organization), or a seed directory
/// (`orgpack sandbox --org NAME=SEED_DIR`) holding `org.json` and every file it names.
#[derive(Clone, Copy)]
enum Files<'a> {
    Demo,
    Dir(&'a std::path::Path),
}

impl Files<'_> {
    fn get(self, name: &str) -> Result<std::borrow::Cow<'static, [u8]>, Error> {
        match self {
            Files::Demo => FILES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| std::borrow::Cow::Borrowed(*b))
                .ok_or_else(|| {
                    Error::Invalid(format!("the demo organization has no file `{name}`"))
                }),
            Files::Dir(dir) => {
                let plain = std::path::Path::new(name)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                if !plain || name.contains('/') || name.contains('\\') {
                    return Err(Error::Invalid(format!(
                        "seed {}: `{name}` is not a plain file name in the seed directory",
                        dir.display()
                    )));
                }
                let path = dir.join(name);
                std::fs::read(&path)
                    .map(std::borrow::Cow::Owned)
                    .map_err(|e| Error::Invalid(format!("seed file {}: {e}", path.display())))
            }
        }
    }
}

fn seed_error(what: &str, e: &impl std::fmt::Display) -> Error {
    Error::Invalid(format!("seeding the demo organization, {what}: {e}"))
}

impl Sandbox {
    /// Create the demonstration organization at `/<org>` with its users (every one with
    /// `password`), groups, folders and items.
    ///
    /// # Errors
    /// When the organization exists already, or a call of the seeding fails.
    pub async fn seed_demo(&self, org: &str, password: &str) -> Result<DemoOrg, Error> {
        self.seed(org, password, Files::Demo, false).await
    }

    /// [`Sandbox::seed_demo`] into an organization that answers as ArcGIS Enterprise (no recycle
    /// bin, `itemIdToCreate`, built-in accounts).
    ///
    /// # Errors
    /// As [`Sandbox::seed_demo`].
    pub async fn seed_demo_enterprise(&self, org: &str, password: &str) -> Result<DemoOrg, Error> {
        self.seed(org, password, Files::Demo, true).await
    }

    /// Create an organization at `/<org>` from a seed directory in the demo organization's
    /// format (fixtures/demo-org/README.md): `org.json` and the files it names, side by side.
    ///
    /// # Errors
    /// When the organization exists already, a file is missing or not a plain name, or a call
    /// of the seeding fails.
    pub async fn seed_dir(
        &self,
        org: &str,
        dir: &std::path::Path,
        password: &str,
    ) -> Result<DemoOrg, Error> {
        self.seed(org, password, Files::Dir(dir), false).await
    }

    async fn seed(
        &self,
        org: &str,
        password: &str,
        files: Files<'_>,
        enterprise: bool,
    ) -> Result<DemoOrg, Error> {
        let file = |name: &str| files.get(name);
        let def: OrgDef = serde_json::from_slice(&file("org.json")?)
            .map_err(|e| seed_error("reading org.json", &e))?;
        if self.shared.store.org(org)?.is_some() {
            return Err(Error::Invalid(format!(
                "organization `{org}` exists already"
            )));
        }
        let name = def.name.clone().unwrap_or_else(|| format!("Sandbox {org}"));
        if enterprise {
            self.add_enterprise_org(org, &name)?;
        } else {
            self.add_org(org, &name)?;
        }
        let custom = |role: &str| !matches!(role, "org_admin" | "org_publisher" | "org_user");
        for u in &def.users {
            // A custom role is given through the API once the roles exist.
            let base = if custom(&u.role) { "org_user" } else { &u.role };
            self.add_user(org, &u.username, password, base)?;
        }
        let url = PortalUrl::parse(&self.portal_url(org))
            .map_err(|e| seed_error("the portal URL", &e))?;
        let ca: Vec<Vec<u8>> = self
            .certificate_pem()
            .map(|p| p.as_bytes().to_vec())
            .into_iter()
            .collect();
        let mut clients = BTreeMap::new();
        for u in &def.users {
            let client = Client::new(
                url.clone(),
                Credentials::Password {
                    username: u.username.clone(),
                    password: password.to_owned(),
                },
                ClientOptions {
                    ca_certs: ca.clone(),
                    ..ClientOptions::default()
                },
            )
            .map_err(|e| seed_error("a client", &e))?;
            clients.insert(u.username.clone(), client);
        }
        let as_user = |name: &str| {
            clients.get(name).ok_or_else(|| {
                Error::Invalid(format!("the demo organization has no user `{name}`"))
            })
        };
        let org_id = self.shared.store.org(org)?.map(|o| o.0).unwrap_or_default();
        let mut out = DemoOrg {
            org: org.to_owned(),
            ..DemoOrg::default()
        };
        let admin_name = def
            .users
            .iter()
            .find(|u| u.role == "org_admin")
            .map(|u| u.username.clone())
            .ok_or_else(|| Error::Invalid("the demo organization has no org_admin".into()))?;
        let admin = as_user(&admin_name)?;
        seed_roles(admin, &def).await?;
        seed_profiles(admin, &def, &file).await?;
        if let Some(schema) = &def.category_schema {
            admin
                .assign_category_schema(None, schema)
                .await
                .map_err(|e| seed_error("the category schema", &e))?;
        }
        for g in &def.groups {
            let owner = as_user(&g.owner)?;
            let invitation_only = if g.is_invitation_only {
                "true"
            } else {
                "false"
            };
            let id = owner
                .create_group(&[
                    ("title", &g.title),
                    ("access", &g.access),
                    ("tags", &g.tags),
                    ("capabilities", &g.capabilities),
                    ("isInvitationOnly", invitation_only),
                ])
                .await
                .map_err(|e| seed_error(&format!("group {}", g.title), &e))?;
            let members: Vec<&str> = g.members.iter().map(String::as_str).collect();
            let admins: Vec<&str> = g.admins.iter().map(String::as_str).collect();
            owner
                .add_group_users(&id, &members, &admins)
                .await
                .map_err(|e| seed_error(&format!("members of {}", g.title), &e))?;
            if let Some(name) = &g.thumbnail {
                owner
                    .set_thumbnail(
                        &format!("community/groups/{id}/update"),
                        file(name)?.into_owned(),
                        name,
                    )
                    .await
                    .map_err(|e| seed_error(&format!("thumbnail of {}", g.title), &e))?;
            }
            if let Some(schema) = &g.category_schema {
                owner
                    .assign_category_schema(Some(&id), schema)
                    .await
                    .map_err(|e| seed_error(&format!("categories of {}", g.title), &e))?;
            }
            out.groups.insert(g.key.clone(), id);
        }
        let mut folders = BTreeMap::new();
        for f in &def.folders {
            let id = as_user(&f.owner)?
                .create_folder(&f.owner, &f.title)
                .await
                .map_err(|e| seed_error(&format!("folder {}", f.title), &e))?;
            folders.insert((f.owner.clone(), f.title.clone()), id);
        }
        let staging = tempfile_dir()?;
        for item in &def.items {
            let client = as_user(&item.owner)?;
            let folder = item
                .folder
                .as_ref()
                .and_then(|f| folders.get(&(item.owner.clone(), f.clone())))
                .map(String::as_str);
            let what = format!("item {}", item.key);
            let id = if let Some(v) = &item.view {
                let source_url = out
                    .urls
                    .get(&v.of)
                    .ok_or_else(|| seed_error(&what, &"a view of an unknown service"))?;
                let source_name = source_url
                    .trim_end_matches("/FeatureServer")
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let layers: Vec<serde_json::Value> = v
                    .layers
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "id": l.id, "name": l.name, "viewDefinitionQuery": l.view_definition_query,
                            "adminLayerInfo": {"viewLayerDefinition": {
                                "sourceServiceName": source_name, "sourceLayerId": l.source_layer,
                                "sourceLayerFields": "*",
                            }},
                        })
                    })
                    .collect();
                let (id, url) = defined_service(
                    client,
                    &item.owner,
                    folder,
                    &serde_json::json!({"name": v.name}),
                    true,
                    &serde_json::json!({"layers": layers}).to_string(),
                    &what,
                )
                .await?;
                let title = item.title.clone().unwrap_or_else(|| v.name.clone());
                client
                    .update_item(&item.owner, None, &id, &[("title", &title)], Content::None)
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
                out.urls.insert(item.key.clone(), url);
                id
            } else if let Some(p) = &item.publish {
                let from = out
                    .items
                    .get(&p.from)
                    .ok_or_else(|| seed_error(&what, &"publishes from an unknown item"))?;
                let mut parameters = serde_json::json!({"name": p.name});
                for (key, scale) in [("minScale", p.min_scale), ("maxScale", p.max_scale)] {
                    if let Some(scale) = scale {
                        parameters[key] = serde_json::json!(scale);
                    }
                }
                let extra: Vec<(&str, &str)> = match &p.output_type {
                    Some(output) => vec![("outputType", output), ("buildInitialCache", "true")],
                    None => Vec::new(),
                };
                let published = client
                    .publish_with(
                        &item.owner,
                        from,
                        &p.file_type,
                        &parameters.to_string(),
                        &extra,
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
                client
                    .wait_for_job(
                        &item.owner,
                        &published.service_item_id,
                        published.job_id.as_deref(),
                        Some("publish"),
                        std::time::Duration::from_mins(1),
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
                let title = item.title.clone().unwrap_or_else(|| p.name.clone());
                client
                    .update_item(
                        &item.owner,
                        None,
                        &published.service_item_id,
                        &[("title", &title)],
                        Content::None,
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
                if let Some(folder) = folder {
                    client
                        .move_item(&item.owner, &published.service_item_id, Some(folder))
                        .await
                        .map_err(|e| seed_error(&what, &e))?;
                }
                if let (Some(name), Some(url)) = (&p.service, &published.service_url) {
                    let finishing = Finishing {
                        files,
                        staging: &staging,
                        what: &what,
                    };
                    finishing
                        .apply(client, &item.owner, &published.service_item_id, url, name)
                        .await?;
                }
                if let Some(u) = published.service_url {
                    out.urls.insert(item.key.clone(), u);
                }
                published.service_item_id
            } else if let Some(c) = &item.create {
                let name = fill(c.name.as_bytes(), &out, &self.portal_url(org), &org_id);
                let layers = String::from_utf8_lossy(&file(&c.definition)?).into_owned();
                let (id, url) = defined_service(
                    client,
                    &item.owner,
                    folder,
                    &serde_json::json!({
                        "name": name,
                        "spatialReference": {"wkid": 102_100, "latestWkid": 3857},
                    }),
                    false,
                    &layers,
                    &what,
                )
                .await?;
                if let Some(seed) = &c.service {
                    let finishing = Finishing {
                        files,
                        staging: &staging,
                        what: &what,
                    };
                    finishing
                        .apply(client, &item.owner, &id, &url, seed)
                        .await?;
                }
                let mut params = vec![("title", item.title.clone().unwrap_or(name))];
                if let Some(t) = &item.tags {
                    params.push(("tags", t.clone()));
                }
                let refs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                client
                    .update_item(&item.owner, None, &id, &refs, Content::None)
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
                out.urls.insert(item.key.clone(), url);
                id
            } else if let Some(a) = &item.map_area {
                let data = match &item.data {
                    Some(name) => Some(fill(&file(name)?, &out, &self.portal_url(org), &org_id)),
                    None => None,
                };
                seed_map_area(client, item, a, &mut out, data.as_deref())
                    .await
                    .map_err(|e| seed_error(&what, &e))?
            } else {
                let mut params: Vec<(&str, String)> = vec![
                    ("title", item.title.clone().unwrap_or_default()),
                    ("type", item.item_type.clone().unwrap_or_default()),
                ];
                if let Some(t) = &item.tags {
                    params.push(("tags", t.clone()));
                }
                if let Some(k) = &item.type_keywords {
                    params.push(("typeKeywords", k.clone()));
                }
                if let Some(c) = &item.categories {
                    params.push(("categories", c.clone()));
                }
                let refs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let text;
                let path;
                let generated;
                let content = if let Some(name) = &item.file {
                    path = staging.join(name);
                    std::fs::write(&path, &*file(name)?)?;
                    Content::File { path: &path, name }
                } else if let Some(t) = &item.tile_package {
                    let (name, bytes) = t.build()?;
                    path = staging.join(&name);
                    std::fs::write(&path, bytes)?;
                    generated = name;
                    Content::File {
                        path: &path,
                        name: &generated,
                    }
                } else if let Some(package) = &item.package {
                    // Made with its file (the item's `name`), then filled again once its own id
                    // is known (below).
                    path = staging.join(&package.name);
                    let portal = self.portal_url(org);
                    let zip =
                        package_zip(package, &|n| file(n), &|t| fill(t, &out, &portal, &org_id))?;
                    std::fs::write(&path, zip)?;
                    Content::File {
                        path: &path,
                        name: &package.name,
                    }
                } else if let Some(name) = &item.data {
                    text = fill(&file(name)?, &out, &self.portal_url(org), &org_id);
                    Content::Text(&text)
                } else if let Some(u) = &item.url {
                    Content::Url(u)
                } else {
                    Content::None
                };
                client
                    .add_item(&item.owner, folder, &refs, content, 8 << 20)
                    .await
                    .map_err(|e| seed_error(&what, &e))?
            };
            for (path, name) in &item.resources {
                let bytes = if name.to_ascii_lowercase().ends_with(".json") {
                    fill(&file(name)?, &out, &self.portal_url(org), &org_id).into_bytes()
                } else {
                    file(name)?.to_vec()
                };
                client
                    .add_resource(&item.owner, &id, path, bytes)
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            for (field, name) in [("thumbnail", &item.thumbnail), ("metadata", &item.metadata)] {
                if let Some(name) = name {
                    let path = staging.join(name);
                    std::fs::write(&path, &*file(name)?)?;
                    client
                        .update_info_file(&item.owner, None, &id, field, &path, name)
                        .await
                        .map_err(|e| seed_error(&what, &e))?;
                }
            }
            if let Some(package) = &item.package {
                out.items.insert(item.key.clone(), id.clone());
                let portal = self.portal_url(org);
                let zip = package_zip(package, &|n| file(n), &|t| fill(t, &out, &portal, &org_id))?;
                let path = staging.join(&package.name);
                std::fs::write(&path, zip)?;
                client
                    .update_item(
                        &item.owner,
                        folder,
                        &id,
                        &[],
                        Content::File {
                            path: &path,
                            name: &package.name,
                        },
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            if let Some(name) = &item.properties {
                let text = fill(&file(name)?, &out, &self.portal_url(org), &org_id);
                client
                    .update_item(
                        &item.owner,
                        None,
                        &id,
                        &[("properties", &text)],
                        Content::None,
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            if let Some(h) = &item.hub_site {
                self.seed_hub_site(client, item, h, &id)
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            for (kind, to) in &item.relationships {
                let to = out
                    .items
                    .get(to)
                    .ok_or_else(|| seed_error(&what, &"relates to an unknown item"))?;
                client
                    .add_relationship(&item.owner, &id, to, kind)
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            if let Some(share) = &item.share {
                let groups: Vec<&str> = share
                    .groups
                    .iter()
                    .filter_map(|g| out.groups.get(g).map(String::as_str))
                    .collect();
                let access = share.access.as_deref().unwrap_or("private");
                client
                    .share_item(
                        &item.owner,
                        &id,
                        access == "public",
                        access == "org" || access == "public",
                        &groups,
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            if item.protect {
                client
                    .protect_item(&item.owner, &id, true)
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
            }
            if item.recycle {
                client
                    .call(
                        &what,
                        orgpack_portal::Method::Post,
                        &format!("content/users/{}/items/{id}/delete", item.owner),
                        &[("permanentDelete", "false")],
                    )
                    .await
                    .map_err(|e| seed_error(&what, &e))?;
                out.recycled.insert(item.key.clone(), id);
                continue;
            }
            out.items.insert(item.key.clone(), id);
        }
        let _ = std::fs::remove_dir_all(&staging);
        for patch in &def.patches {
            let what = format!("item {}", patch.item);
            let (Some(id), Some(owner)) = (
                out.items.get(&patch.item),
                def.items
                    .iter()
                    .find(|i| i.key == patch.item)
                    .map(|i| &i.owner),
            ) else {
                return Err(seed_error(&what, &"a patch of an unknown item"));
            };
            let mut params = Vec::new();
            if let Some(name) = &patch.properties {
                params.push((
                    "properties",
                    fill(&file(name)?, &out, &self.portal_url(org), &org_id),
                ));
            }
            if let Some(k) = &patch.type_keywords {
                params.push(("typeKeywords", k.clone()));
            }
            let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            as_user(owner)?
                .update_item(owner, None, id, &refs, Content::None)
                .await
                .map_err(|e| seed_error(&what, &e))?;
        }
        if !def.settings.is_empty() {
            let values: Vec<(String, String)> = def
                .settings
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (
                        k.clone(),
                        fill(text.as_bytes(), &out, &self.portal_url(org), &org_id),
                    )
                })
                .collect();
            let params: Vec<(&str, &str)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin
                .update_portal(&params)
                .await
                .map_err(|e| seed_error("the organization's settings", &e))?;
        }
        for u in def.users.iter().filter(|u| u.disabled) {
            admin
                .call(
                    "disable",
                    orgpack_portal::Method::Post,
                    &format!("community/users/{}/disable", u.username),
                    &[],
                )
                .await
                .map_err(|e| seed_error(&format!("disabling {}", u.username), &e))?;
        }
        Ok(out)
    }
}

/// The custom roles, and the users that hold them (made `org_user` first).
async fn seed_roles(admin: &Client, def: &OrgDef) -> Result<(), Error> {
    let post = |path: String, params: Vec<(&'static str, String)>| async move {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        admin
            .call("role", orgpack_portal::Method::Post, &path, &params)
            .await
            .map_err(|e| seed_error(&path, &e))
    };
    let mut ids = BTreeMap::new();
    for r in &def.roles {
        let made = post(
            "portals/self/createRole".into(),
            vec![
                ("name", r.name.clone()),
                ("description", r.description.clone()),
            ],
        )
        .await?;
        let id = made["id"].as_str().unwrap_or_default().to_owned();
        let privileges = serde_json::json!({"privileges": r.privileges}).to_string();
        post(
            format!("portals/self/roles/{id}/setPrivileges"),
            vec![("privileges", privileges)],
        )
        .await?;
        ids.insert(r.name.clone(), id);
    }
    for u in &def.users {
        if let Some(id) = ids.get(&u.role) {
            post(
                "portals/self/updateuserrole".into(),
                vec![("user", u.username.clone()), ("role", id.clone())],
            )
            .await?;
        }
    }
    Ok(())
}

/// The members' profiles and thumbnails, set by the administrator.
async fn seed_profiles<'f>(
    admin: &Client,
    def: &OrgDef,
    file: &impl Fn(&str) -> Result<std::borrow::Cow<'f, [u8]>, Error>,
) -> Result<(), Error> {
    for u in &def.users {
        let what = format!("profile of {}", u.username);
        if !u.profile.is_empty() {
            let params: Vec<(&str, &str)> = u
                .profile
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin
                .update_user(&u.username, &params)
                .await
                .map_err(|e| seed_error(&what, &e))?;
        }
        if let Some(name) = &u.thumbnail {
            admin
                .set_thumbnail(
                    &format!("community/users/{}/update", u.username),
                    file(name)?.into_owned(),
                    name,
                )
                .await
                .map_err(|e| seed_error(&what, &e))?;
        }
    }
    Ok(())
}

/// Replace the fixture's placeholders with what seeding made.
impl Sandbox {
    /// Put seeded site `id` on the web as Hub does (`hub_site`).
    async fn seed_hub_site(
        &self,
        client: &Client,
        item: &ItemDef,
        hub: &HubSiteDef,
        id: &str,
    ) -> Result<(), orgpack_portal::Error> {
        let me = client.portal_self().await?;
        let key = me["urlKey"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let host = format!("{}-{key}.hub.arcgis.com", hub.subdomain);
        let mut data = Vec::new();
        client.item_data(id, &mut data).await?;
        let mut doc: serde_json::Value =
            serde_json::from_slice(&data).unwrap_or_else(|_| serde_json::json!({}));
        doc["values"]["subdomain"] = serde_json::json!(hub.subdomain);
        let mut keywords: Vec<String> = item
            .type_keywords
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        keywords.push(format!("hubsubdomain|{}", hub.subdomain));
        let mut params = vec![("typeKeywords", keywords.join(","))];
        if me["isPortal"] != serde_json::json!(true) {
            let client_id = client
                .register_app(id, &[format!("http://{host}"), format!("https://{host}")])
                .await?;
            client
                .add_hub_domain(
                    &self.hub_url(),
                    &serde_json::json!({
                        "hostname": host, "siteId": id, "siteTitle": item.title, "orgId": me["id"],
                        "orgKey": key, "orgTitle": me["name"], "clientKey": client_id,
                        "sslOnly": true,
                    }),
                )
                .await?;
            doc["values"]["defaultHostname"] = serde_json::json!(host);
            doc["values"]["clientId"] = serde_json::json!(client_id);
            params.push(("url", format!("https://{host}")));
        }
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        client
            .update_item(
                &item.owner,
                None,
                id,
                &refs,
                Content::Text(&doc.to_string()),
            )
            .await?;
        Ok(())
    }
}

/// A hosted feature service made empty (`createService` with `create` as its parameters, a view
/// when `is_view`) and given `definition`'s layers and tables (`addToDefinition`): its item id
/// and URL.
async fn defined_service(
    client: &Client,
    owner: &str,
    folder: Option<&str>,
    create: &serde_json::Value,
    is_view: bool,
    definition: &str,
    what: &str,
) -> Result<(String, String), Error> {
    let created = client
        .create_service(owner, folder, &create.to_string(), is_view, &[])
        .await
        .map_err(|e| seed_error(what, &e))?;
    let url = created
        .service_url
        .ok_or_else(|| seed_error(what, &"the service has no URL"))?;
    client
        .add_to_definition(&url, definition)
        .await
        .map_err(|e| seed_error(what, &e))?;
    Ok((created.service_item_id, url))
}

/// What a seeded service's seed file gives it once it exists (`demo_services`): where the seed's
/// files are, where uploads are staged, and the item being seeded (for errors).
struct Finishing<'a> {
    files: Files<'a>,
    staging: &'a std::path::Path,
    what: &'a str,
}

impl Finishing<'_> {
    /// Apply seed file `seed` to service `url` (item `id`, owned by `owner`).
    async fn apply(
        &self,
        client: &Client,
        owner: &str,
        id: &str,
        url: &str,
        seed: &str,
    ) -> Result<(), Error> {
        let def: serde_json::Value = serde_json::from_slice(&self.files.get(seed)?)
            .map_err(|e| seed_error(self.what, &e))?;
        let files = self.files;
        crate::demo_services::finish(
            client,
            owner,
            id,
            url,
            &def,
            |n| files.get(n).map(std::borrow::Cow::into_owned),
            self.staging,
        )
        .await
        .map_err(|e| seed_error(self.what, &e))
    }
}

/// An offline map area of a seeded map, and its package (`<key>-package` in `out`): the area's
/// id.
async fn seed_map_area(
    client: &Client,
    item: &ItemDef,
    area: &MapAreaDef,
    out: &mut DemoOrg,
    data: Option<&str>,
) -> Result<String, orgpack_portal::Error> {
    const WAIT: std::time::Duration = std::time::Duration::from_mins(1);
    let map = out.items.get(&area.of).cloned().unwrap_or_default();
    let service = client.packaging_url().await?.unwrap_or_default();
    let mut output = serde_json::json!({"title": item.title});
    if let Some(tags) = &item.tags {
        output["tags"] = serde_json::json!(tags);
    }
    let id = client
        .create_map_area(
            &service,
            &orgpack_portal::NewMapArea {
                map: &map,
                area_type: "BOOKMARK",
                area: &serde_json::json!({"name": area.bookmark}),
                output_name: &output,
            },
            WAIT,
        )
        .await?;
    if let Some(text) = data {
        client
            .update_item(&item.owner, None, &id, &[], Content::Text(text))
            .await?;
    }
    client.setup_map_area(&service, &id, WAIT).await?;
    let packages = client.related_items(&id, "Area2Package", true).await?;
    if let Some(package) = packages.first().and_then(|p| p["id"].as_str()) {
        out.items
            .insert(format!("{}-package", item.key), package.to_owned());
    }
    Ok(id)
}

fn fill(template: &[u8], made: &DemoOrg, portal: &str, org_id: &str) -> String {
    let mut text = String::from_utf8_lossy(template).into_owned();
    for (key, id) in &made.items {
        text = text.replace(&format!("{{{{item:{key}}}}}"), id);
    }
    for (key, url) in &made.urls {
        text = text.replace(&format!("{{{{url:{key}}}}}"), url);
    }
    for (key, id) in &made.groups {
        text = text.replace(&format!("{{{{group:{key}}}}}"), id);
    }
    text.replace("{{portal}}", portal)
        .replace("{{org}}", org_id)
}

fn tempfile_dir() -> Result<std::path::PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!(
        "orgpack-demo-seed-{}-{}",
        std::process::id(),
        crate::new_id()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
