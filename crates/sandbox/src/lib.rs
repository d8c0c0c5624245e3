//! # orgpack-sandbox
//!
//! A local ArcGIS portal: the REST Sharing API served on 127.0.0.1 for several organizations at
//! once, each at `http://127.0.0.1:PORT/<org>/sharing/rest`, stored in SQLite (one database per
//! data directory, surviving restarts). orgpack's tests run against it, and administrators use it
//! to rehearse a restore before they touch production (`orgpack sandbox`). It implements
//! `spec/portal-api.md`, which follows the ArcGIS REST API reference.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = orgpack_sandbox::Sandbox::start(orgpack_sandbox::SandboxOptions::default()).await?;
//! sandbox.add_org("source", "Source County")?;
//! sandbox.add_user("source", "admin", "a-password", "org_admin")?;
//! println!("{}", sandbox.portal_url("source"));
//! # Ok(()) }
//! ```
//!
//! Served (spec/portal-api.md lists every endpoint): tokens (`generateToken`, OAuth's implicit
//! and authorization-code flows with PKCE, refresh-token and password grants; `token`, `X-Esri-Authorization` and `Authorization` bearer tokens;
//! expiry → 498, missing → 499), the error envelope with HTTP 200, `portals/self`, ArcGIS Online
//! and Enterprise organizations ([`Sandbox::add_enterprise_org`]: `itemIdToCreate`), users,
//! folders, items, resources, thumbnails, metadata, relationships, sharing, groups, search,
//! multipart uploads, hosted feature services as live data (features in SQLite, loaded when
//! published from File Geodatabases, shapefiles, CSV, GeoJSON and service definitions read by
//! orgpack-payload, or added with `applyEdits`; queries with `where`, spatial filters, ordering,
//! statistics and GeoJSON; edits that move `editingInfo`; definitions stored whole and changed by
//! the admin `addToDefinition`/`updateDefinition`/`deleteFromDefinition`), export jobs (File
//! Geodatabases, CSV, GeoJSON and shapefiles written from the features as they are), views (windows on their
//! source's features), HTTPS, the demo organization, and injected faults
//! ([`Sandbox::set_faults`]). Large files are streamed to and from `<data>/blobs/`
//! ([`store::BlobDir`]), never held whole in memory. Attachments, relationship classes (`queryRelatedRecords`), `append`
//! and `truncate` as jobs that take `job_latency`. Not yet: spec/portal-api.md, "Not served yet".

mod api;
mod demo;
mod demo_services;
mod faults;
pub mod packages;
pub mod store;
mod tls;

pub use demo::DemoOrg;
pub use faults::{Faults, FaultsInjected};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The REST API version the sandbox answers with.
pub const CURRENT_VERSION: &str = "2025.3";

/// Errors starting or seeding a sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed.
    #[error("sandbox database: {0}")]
    Store(#[from] rusqlite::Error),
    /// The listener failed.
    #[error("sandbox listener: {0}")]
    Io(#[from] std::io::Error),
    /// A seed value is unusable.
    #[error("{0}")]
    Invalid(String),
}

/// How a sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the SQLite database lives; in memory when `None`.
    pub data_dir: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The longest a token lives (to test expiry, make it short).
    pub token_lifetime: std::time::Duration,
    /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost (kept in the data
    /// directory, so it survives restarts); see [`Sandbox::certificate_pem`].
    pub tls: bool,
    /// How long asynchronous jobs (publish, export, append, truncate) take before they report
    /// completion: zero completes them at the second look.
    pub job_latency: std::time::Duration,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            data_dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_lifetime: std::time::Duration::from_hours(1),
            tls: false,
            job_latency: std::time::Duration::ZERO,
        }
    }
}

pub(crate) struct Shared {
    pub store: store::Store,
    pub faults: faults::FaultState,
    pub oauth: api::oauth::Pending,
    pub token_lifetime_ms: i64,
    pub scheme: &'static str,
    /// How long asynchronous jobs take (ms).
    pub job_latency_ms: i64,
    /// Jobs of the services (append, truncate): id → (organization, when done (epoch ms), answer).
    pub jobs: std::sync::Mutex<std::collections::HashMap<String, api::jobs::Job>>,
    /// Requests answered (portal and services), for tests and benchmarks.
    pub requests: std::sync::atomic::AtomicU64,
    /// The same, by endpoint (`content/items/{id}/data`), for benchmarks.
    pub endpoints: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

/// A running sandbox; it stops when dropped.
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    certificate: Option<String>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Open the store and start serving on the runtime this is called from.
    ///
    /// # Errors
    /// When the database or the listener cannot be opened.
    pub async fn start(options: SandboxOptions) -> Result<Self, Error> {
        let store = store::Store::open(options.data_dir.as_deref())?;
        let lifetime = i64::try_from(options.token_lifetime.as_millis()).unwrap_or(i64::MAX);
        let shared = Arc::new(Shared {
            store,
            faults: faults::FaultState::default(),
            requests: std::sync::atomic::AtomicU64::new(0),
            endpoints: std::sync::Mutex::default(),
            oauth: api::oauth::Pending::default(),
            token_lifetime_ms: lifetime,
            scheme: if options.tls { "https" } else { "http" },
            job_latency_ms: i64::try_from(options.job_latency.as_millis()).unwrap_or(i64::MAX),
            jobs: std::sync::Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = api::router(Arc::clone(&shared));
        let identity = if options.tls {
            Some(tls::Identity::load_or_create(options.data_dir.as_deref())?)
        } else {
            None
        };
        if let Some(identity) = identity.clone() {
            tokio::spawn(async move {
                let _ = tls::serve(listener, app, &identity, rx).await;
            });
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        }
        Ok(Self {
            shared,
            addr,
            shutdown: Some(tx),
            certificate: identity.map(|i| i.cert_pem),
        })
    }

    /// Inject faults into the requests that follow (generateToken included); `Faults::default()`
    /// turns them off.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }

    /// Make an item look `hours` older: its `created` and `modified` moved back, as if it had
    /// been added then (tests of what a client does with items left for hours; the REST API
    /// cannot set either).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown item; database errors.
    pub fn backdate_item(&self, org: &str, id: &str, hours: i64) -> Result<(), Error> {
        let store = &self.shared.store;
        let Some(mut item) = store.item(org, id)? else {
            return Err(Error::Invalid(format!("no item `{id}` in `{org}`")));
        };
        let by = hours * 3_600_000;
        let o = item.json.as_object_mut().expect("an item is an object");
        for key in ["created", "modified"] {
            let at = o.get(key).and_then(serde_json::Value::as_i64).unwrap_or(0);
            o.insert(key.into(), (at - by).into());
        }
        let modified = item.json["modified"].as_i64().unwrap_or(0);
        store.update_item(id, &item.json, None, modified)?;
        Ok(())
    }

    /// How many faults have been injected since the sandbox started.
    #[must_use]
    pub fn faults_injected(&self) -> FaultsInjected {
        self.shared.faults.injected()
    }

    /// The certificate served over HTTPS (PEM), for clients to trust; `None` over HTTP.
    #[must_use]
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// How many requests the sandbox has received (portal, OAuth and services), for tests and
    /// benchmarks that count what a client costs.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The requests received so far by endpoint (`content/items/{id}/data`: ids, usernames and
    /// numbers made generic), as `GET /_sandbox/stats` gives them.
    #[must_use]
    pub fn requests_by_endpoint(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared
            .endpoints
            .lock()
            .expect("endpoint counters")
            .clone()
    }

    /// The address served.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The portal URL of an organization: `http(s)://127.0.0.1:PORT/<org>`.
    #[must_use]
    pub fn portal_url(&self, org: &str) -> String {
        format!("{}://{}/{org}", self.shared.scheme, self.addr)
    }

    /// The Hub API the sandbox serves for its ArcGIS Online organizations (its domain service
    /// at `<hub>/api/v3/domains`): a client's `hub_url`.
    #[must_use]
    pub fn hub_url(&self) -> String {
        format!("{}://{}/hub", self.shared.scheme, self.addr)
    }

    /// Whether an organization is served at `/<key>`.
    ///
    /// # Errors
    /// Database errors.
    pub fn has_org(&self, key: &str) -> Result<bool, Error> {
        Ok(self.shared.store.org(key)?.is_some())
    }

    /// Add an organization (ArcGIS Online-like) at `/<key>/sharing/rest`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a key that is not a plain path segment; database errors.
    pub fn add_org(&self, key: &str, name: &str) -> Result<(), Error> {
        self.add_org_as(key, name, false)
    }

    /// Add an organization that answers as ArcGIS Enterprise (`isPortal: true`), where
    /// `addItem` honours `itemIdToCreate`.
    ///
    /// # Errors
    /// As [`Sandbox::add_org`].
    pub fn add_enterprise_org(&self, key: &str, name: &str) -> Result<(), Error> {
        self.add_org_as(key, name, true)
    }

    fn add_org_as(&self, key: &str, name: &str, is_portal: bool) -> Result<(), Error> {
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::Invalid(format!(
                "`{key}` is not a usable organization key (letters, digits, - and _)"
            )));
        }
        let id: String = hex_id(&format!("org:{key}")).chars().take(16).collect();
        Ok(self.shared.store.add_org(key, &id, name, is_portal)?)
    }

    /// Add a user to an organization with a role (`org_admin`, `org_publisher`, `org_user`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown role or organization; database errors.
    pub fn add_user(
        &self,
        org: &str,
        username: &str,
        password: &str,
        role: &str,
    ) -> Result<(), Error> {
        if !matches!(role, "org_admin" | "org_publisher" | "org_user") {
            return Err(Error::Invalid(format!("unknown role `{role}`")));
        }
        if self.shared.store.org(org)?.is_none() {
            return Err(Error::Invalid(format!("no organization `{org}`")));
        }
        Ok(self
            .shared
            .store
            .add_user(org, username, password, role, username, now_ms())?)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 32 lowercase hex digits derived from `seed` (deterministic).
pub(crate) fn hex_id(seed: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..16])
}

/// A fresh item, group or folder id: 32 lowercase hex digits, unique in this process and unlikely
/// to repeat across processes.
pub(crate) fn new_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    hex_id(&format!("{}:{}:{n}", std::process::id(), now_ms()))
}

/// A fresh token: opaque, long, unguessable enough for a local sandbox.
pub(crate) fn new_token() -> String {
    use std::hash::{BuildHasher, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{}{:016x}", new_id(), h.finish())
}
