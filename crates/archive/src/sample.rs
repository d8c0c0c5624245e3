//! A small, deterministic, realistic snapshot: the content of tests, the corrupt-archive fixtures
//! and the benchmarks. It is not a backup of anything.

use std::collections::BTreeMap;
use std::io::Read;

use crate::digest::Digest;
use crate::error::Result;
use crate::manifest::{
    Access, Dependency, DependencyKind, Folder, FoundIn, Group, GroupRef, Item, NamedPart,
    Obtained, Payload, PayloadField, PayloadKind, PayloadLayer, Relationship, Resource, Selection,
    Sharing, Snapshot, Source, Tool, User,
};
use crate::manifest::{Direction, GroupMember, People, PortalKind, Role};
use crate::repository::SnapshotWriter;
use crate::writer::WriteOptions;

/// The web map's id in the sample.
pub const WEB_MAP_ID: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f801";
/// The hosted feature service's id in the sample.
pub const SERVICE_ID: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
/// The group's id in the sample.
pub const GROUP_ID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";

/// Deterministic pseudo-random bytes (xorshift): incompressible, like zipped payloads.
#[derive(Debug, Clone)]
pub struct NoiseReader {
    state: u64,
    word: [u8; 8],
    used: usize,
    remaining: u64,
}

impl NoiseReader {
    /// `len` bytes from `seed`.
    #[must_use]
    pub fn new(seed: u64, len: u64) -> Self {
        Self {
            state: seed | 1,
            word: [0; 8],
            used: 8,
            remaining: len,
        }
    }
}

impl Read for NoiseReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[allow(clippy::cast_possible_truncation)]
        let n = (buf.len() as u64).min(self.remaining) as usize;
        // The stream is the same whatever the sizes of the reads.
        for byte in &mut buf[..n] {
            if self.used == 8 {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                self.word = self.state.to_le_bytes();
                self.used = 0;
            }
            *byte = self.word[self.used];
            self.used += 1;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Write the sample content and commit a snapshot created at `created` whose feature service has
/// a `payload_size`-byte File Geodatabase export. Returns the snapshot id.
///
/// # Errors
/// Errors of the writer.
pub fn write_sample(
    writer: &mut dyn SnapshotWriter,
    created: &str,
    payload_size: u64,
) -> Result<Digest> {
    let mut snapshot = build_sample(writer, created, payload_size)?;
    writer.commit(&mut snapshot)
}

/// Write the sample content and return its (uncommitted) manifest.
///
/// # Errors
/// Errors of the writer.
pub fn build_sample(
    writer: &dyn SnapshotWriter,
    created: &str,
    payload_size: u64,
) -> Result<Snapshot> {
    let blobs = writer.blob_writer(WriteOptions::default());
    let service_url =
        "https://services.example.com/org1/arcgis/rest/services/Parcels/FeatureServer";
    let map_item = serde_json::json!({
        "id": WEB_MAP_ID, "owner": "gis_admin", "title": "Parcels overview", "type": "Web Map",
        "typeKeywords": ["ArcGIS Online", "Web Map"], "access": "shared", "modified": 1_764_000_000_000_i64,
    });
    let map_data = serde_json::json!({
        "operationalLayers": [{"id": "parcels", "itemId": SERVICE_ID, "url": format!("{service_url}/0"), "title": "Parcels"}],
        "baseMap": {"baseMapLayers": [], "title": "Topographic"}, "version": "2.31",
    });
    let service_item = serde_json::json!({
        "id": SERVICE_ID, "owner": "editor", "title": "Parcels", "type": "Feature Service", "url": service_url,
        "typeKeywords": ["Hosted Service", "Feature Service"], "access": "org", "modified": 1_763_000_000_000_i64,
    });
    let web_map = Item {
        id: WEB_MAP_ID.into(),
        item_type: "Web Map".into(),
        title: "Parcels overview".into(),
        owner: "gis_admin".into(),
        folder: Some(Folder {
            id: "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0".into(),
            title: "Planning".into(),
        }),
        modified: 1_764_000_000_000,
        url: None,
        item: blobs.put_json(&map_item)?,
        data: Some(NamedPart {
            name: None,
            content: blobs.put_json(&map_data)?,
        }),
        thumbnail: Some(NamedPart {
            name: Some("thumbnail.png".into()),
            content: blobs.put_reader(NoiseReader::new(7, 9000), "thumbnail")?,
        }),
        metadata: Some(blobs.put_bytes(b"<?xml version=\"1.0\"?><metadata><Esri/></metadata>")?),
        resources: vec![
            Resource {
                path: "images/legend/parcels.png".into(),
                content: blobs.put_reader(NoiseReader::new(11, 3000), "resource")?,
            },
            Resource {
                path: "config/popup.json".into(),
                content: blobs.put_bytes(br#"{"popup":{"title":"{PARCEL_ID}"}}"#)?,
            },
        ],
        sharing: Sharing {
            access: Access::Shared,
            groups: vec![GroupRef {
                id: GROUP_ID.into(),
                title: "Planning team".into(),
            }],
        },
        relationships: vec![Relationship {
            relationship_type: "Map2Service".into(),
            direction: Direction::Forward,
            item_id: SERVICE_ID.into(),
        }],
        dependencies: vec![
            Dependency {
                kind: DependencyKind::Item,
                target: SERVICE_ID.into(),
                item_id: None,
                found_in: FoundIn::Data,
                path: Some("$.operationalLayers[0].itemId".into()),
                external: false,
            },
            Dependency {
                kind: DependencyKind::Service,
                target: format!("{service_url}/0"),
                item_id: Some(SERVICE_ID.into()),
                found_in: FoundIn::Data,
                path: Some("$.operationalLayers[0].url".into()),
                external: false,
            },
        ],
        payloads: Vec::new(),
        annotations: BTreeMap::new(),
    };
    let export = blobs.put_reader(NoiseReader::new(42, payload_size), "payload")?;
    let service = Item {
        id: SERVICE_ID.into(),
        item_type: "Feature Service".into(),
        title: "Parcels".into(),
        owner: "editor".into(),
        folder: None,
        modified: 1_763_000_000_000,
        url: Some(service_url.into()),
        item: blobs.put_json(&service_item)?,
        data: None,
        thumbnail: None,
        metadata: None,
        resources: Vec::new(),
        sharing: Sharing {
            access: Access::Org,
            groups: Vec::new(),
        },
        relationships: vec![Relationship {
            relationship_type: "Map2Service".into(),
            direction: Direction::Reverse,
            item_id: WEB_MAP_ID.into(),
        }],
        dependencies: Vec::new(),
        payloads: vec![Payload {
            file_name: "Parcels.gdb.zip".into(),
            kind: PayloadKind::FileGeodatabase,
            obtained: Obtained::FreshExport,
            source_item: None,
            content: export,
            layers: vec![PayloadLayer {
                id: None,
                name: "Parcels".into(),
                geometry_type: Some("esriGeometryPolygon".into()),
                feature_count: Some(1250),
                fields: vec![PayloadField {
                    name: "PARCEL_ID".into(),
                    field_type: "esriFieldTypeString".into(),
                }],
            }],
        }],
        annotations: BTreeMap::new(),
    };
    let group = Group {
        id: GROUP_ID.into(),
        title: "Planning team".into(),
        owner: "gis_admin".into(),
        access: Access::Org,
        group: blobs.put_json(
            &serde_json::json!({"id": GROUP_ID, "title": "Planning team", "access": "org"}),
        )?,
        thumbnail: None,
        members: vec![GroupMember {
            username: "gis_admin".into(),
            member_type: "owner".into(),
        }],
        category_schema: None,
        annotations: BTreeMap::new(),
    };
    Ok(Snapshot {
        format_version: crate::layout::FORMAT_VERSION.into(),
        created: created.into(),
        tool: Tool {
            name: "orgpack".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        source: Source {
            portal_url: "https://example.maps.arcgis.com".into(),
            portal_kind: PortalKind::Online,
            org_id: "AbCdEfGhIjKlMnOp".into(),
            org_name: Some("Example County".into()),
            user: "gis_admin".into(),
            current_version: Some("2025.3".into()),
            portal_aliases: Vec::new(),
        },
        selection: Selection {
            all: true,
            include_dependencies: true,
            ..Selection::default()
        },
        parent: None,
        tags: vec!["nightly".into()],
        item_layers: Vec::new(),
        items: vec![service, web_map],
        groups: vec![group],
        users: vec![
            User {
                username: "editor".into(),
                full_name: Some("Map Editor".into()),
                role: Some("org_user".into()),
                role_id: Some("fRmLd0aGcWkPeUqS".into()),
                user_type: Some("creatorUT".into()),
                email: Some("editor@example.org".into()),
                ..User::default()
            },
            User {
                username: "gis_admin".into(),
                full_name: Some("GIS Administrator".into()),
                role: Some("org_admin".into()),
                user_type: Some("creatorUT".into()),
                ..User::default()
            },
        ],
        people: Some(People {
            members: true,
            roles: vec![Role {
                id: "fRmLd0aGcWkPeUqS".into(),
                name: "Field Lead".into(),
                description: "Edits features; publishes nothing.".into(),
                privileges: vec![
                    "features:user:edit".into(),
                    "portal:user:createItem".into(),
                    "portal:user:shareToGroup".into(),
                ],
            }],
            settings: BTreeMap::from([(
                "featuredGroups".into(),
                serde_json::json!([{"title": "Planning team", "owner": "gis_admin"}]),
            )]),
            category_schema: None,
        }),
        failures: Vec::new(),
        annotations: BTreeMap::new(),
    })
}

/// The cases of `fixtures/corrupt/README.md`: for each row of its table, the file name and the
/// fragment every error about that file must contain (the baseline `valid.orgpack` included).
#[must_use]
pub fn fixture_cases(readme: &str) -> Vec<(String, String)> {
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            let unquote = |c: &str| {
                c.strip_prefix('`')
                    .and_then(|c| c.strip_suffix('`'))
                    .map(str::to_owned)
            };
            Some((unquote(cols.get(1)?)?, unquote(cols.get(3)?)?))
        })
        .collect()
}

/// The damaged and hostile cases of `fixtures/corrupt/` (its `README.md` table, the valid baseline
/// left out): (file, fragment of the error).
///
/// # Panics
/// When the README cannot be read or lists fewer than 17 cases: the fixtures are missing.
#[must_use]
pub fn corrupt_cases(corrupt_dir: &std::path::Path) -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(corrupt_dir.join("README.md")).expect("fixtures/corrupt/README.md");
    let cases: Vec<_> = fixture_cases(&readme)
        .into_iter()
        .filter(|(f, _)| f != "valid.orgpack")
        .collect();
    assert!(cases.len() >= 17, "the README table lists every case");
    cases
}
