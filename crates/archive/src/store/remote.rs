//! The repository form on object storage: S3 (and S3-compatible stores), Azure Blob Storage and
//! Google Cloud Storage through the `object_store` crate (spec/archive-format.md §6.6).
//!
//! Every [`Store`]/[`Sink`] call is one request (a listing, one per thousand objects): `get`,
//! `head`, `put`, `list`. Objects are written whole by one `PUT`, which object stores make
//! visible atomically, so there is no temporary name and no rename; blobs and manifests are put
//! with `If-None-Match: *` (never replaced). `index.json` is replaced only by
//! [`RemoteStore::replace_if`], conditional on the version read (`If-Match`), so two machines
//! committing at once never lose each other's snapshots.
//!
//! Credentials and endpoints come from each cloud's environment variables (`AWS_*`, `AZURE_*`,
//! `GOOGLE_*`), never from the URL; messages name the repository URL and the key only, and any
//! query string a request URL carried (an Azure SAS token) is cut from error text.
//!
//! The calls are blocking, like the directory form's: each runs on a runtime shared by every
//! remote store of the process, so they may be made from any thread, also from inside another
//! runtime's task (the backup's).

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};

use super::{Form, ListKind, Listed, Sink, Store};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Key;
use crate::location::{Cloud, Remote};

/// Objects at least this large are uploaded in parts (manifests can reach 256 MiB).
const MULTIPART_FROM: usize = 32 << 20;

/// The version of an object read, for a conditional replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(UpdateVersion);

/// A repository on object storage.
#[derive(Debug, Clone)]
pub struct RemoteStore {
    remote: Remote,
    location: PathBuf,
    store: Arc<dyn ObjectStore>,
    /// Blobs known to be stored: listed once on the first [`Sink::contains`] of a blob, then kept
    /// up to date by this process's puts (a writer holds the repository's writer lock, so no
    /// blob disappears meanwhile).
    known_blobs: Arc<OnceLock<Mutex<HashSet<Digest>>>>,
    /// Blobs and manifests read lately (they never change under their name): a restore reads
    /// each part when it validates the snapshot and again when it sends the item.
    recent: Arc<Mutex<Recent>>,
}

/// A bounded FIFO of objects read, by key.
#[derive(Debug, Default)]
struct Recent {
    objects: std::collections::HashMap<Key, Arc<Vec<u8>>>,
    order: std::collections::VecDeque<Key>,
    bytes: usize,
}

/// What [`Recent`] may hold.
const RECENT_BYTES: usize = 256 << 20;

impl Recent {
    fn get(&self, key: &Key) -> Option<Arc<Vec<u8>>> {
        self.objects.get(key).cloned()
    }

    fn keep(&mut self, key: Key, bytes: Arc<Vec<u8>>) {
        if bytes.len() > RECENT_BYTES / 8 || self.objects.contains_key(&key) {
            return;
        }
        self.bytes += bytes.len();
        self.objects.insert(key, bytes);
        self.order.push_back(key);
        while self.bytes > RECENT_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.objects.remove(&old) {
                self.bytes -= b.len();
            }
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orgpack-object-store")
            .enable_all()
            .build()
            .expect("the object store's runtime starts")
    })
}

/// Run `f` on the shared runtime and wait for it, from any thread.
fn block<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .expect("the object store's runtime runs every task to its end")
}

impl RemoteStore {
    /// Connect to the repository at `remote`. Makes no request: a missing bucket or wrong
    /// credentials show at the first read.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the environment's configuration cannot be used (a malformed
    /// endpoint, an unknown region form, …).
    pub fn connect(remote: &Remote) -> Result<Self> {
        let url = format!("{}://{}", remote.cloud.scheme(), remote.bucket);
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: 10,
            retry_timeout: Duration::from_mins(3),
        };
        let built: object_store::Result<Arc<dyn ObjectStore>> = match remote.cloud {
            Cloud::S3 => s3_from_env()
                .with_url(url)
                .with_retry(retry)
                .build()
                .map(|s| Arc::new(s) as _),
            Cloud::Azure => object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url)
                .with_retry(retry)
                .build()
                .map(|s| Arc::new(s) as _),
            Cloud::Gcs => object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url)
                .with_retry(retry)
                .build()
                .map(|s| Arc::new(s) as _),
        };
        let store = built.map_err(|e| {
            Error::InvalidInput(format!(
                "cannot use repository `{remote}`: {}",
                redact(&e.to_string())
            ))
        })?;
        Ok(Self {
            location: PathBuf::from(remote.to_string()),
            remote: remote.clone(),
            store,
            known_blobs: Arc::new(OnceLock::new()),
            recent: Arc::new(Mutex::new(Recent::default())),
        })
    }

    /// The repository's URL.
    #[must_use]
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    fn object(&self, name: &str) -> ObjectPath {
        if self.remote.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.remote.prefix))
        }
    }

    /// The name of `object` inside the repository, `None` outside its prefix.
    fn name_of<'a>(&self, object: &'a ObjectPath) -> Option<&'a str> {
        let full = object.as_ref();
        if self.remote.prefix.is_empty() {
            Some(full)
        } else {
            full.strip_prefix(self.remote.prefix.as_str())?
                .strip_prefix('/')
        }
    }

    fn failed(&self, action: &'static str, name: &str, e: &object_store::Error) -> Error {
        Error::Storage {
            repository: self.remote.to_string(),
            action,
            key: name.to_owned(),
            reason: redact(&e.to_string()),
        }
    }

    fn missing(&self, name: &str) -> Error {
        Error::Missing {
            location: format!("archive `{}`", self.remote),
            key: name.to_owned(),
        }
    }

    /// Read a named object (a key of the layout or a lock) with its version.
    ///
    /// # Errors
    /// [`Error::Missing`] when absent; [`Error::Storage`].
    pub fn get_named(&self, name: &str, limit: u64) -> Result<(Vec<u8>, Version)> {
        let store = Arc::clone(&self.store);
        let path = self.object(name);
        let got = block(async move {
            let result = store.get_opts(&path, GetOptions::default()).await?;
            let meta = result.meta.clone();
            if meta.size > limit {
                return Ok(Err(meta.size));
            }
            result.bytes().await.map(|b| Ok((b, meta)))
        });
        match got {
            Ok(Ok((bytes, meta))) => Ok((
                bytes.to_vec(),
                Version(UpdateVersion {
                    e_tag: meta.e_tag,
                    version: meta.version,
                }),
            )),
            Ok(Err(size)) => Err(Error::corrupt(
                format!("archive `{}`", self.remote),
                format!("`{name}` is {size} bytes, over the {limit}-byte limit"),
            )),
            Err(object_store::Error::NotFound { .. }) => Err(self.missing(name)),
            Err(e) => Err(self.failed("reading", name, &e)),
        }
    }

    /// Write a named object: `mode` says whether it may exist. `Ok(false)` when the condition
    /// did not hold (the object exists for [`PutMode::Create`], or changed since it was read for
    /// [`RemoteStore::replace_if`]).
    fn put_named(&self, name: &str, bytes: &[u8], mode: &PutMode) -> Result<bool> {
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(bytes));
        // `object_store` retries throttling and errors before a request was sent; a conditional
        // put whose connection dropped after it was sent is tried again here: the answer is then
        // "exists" or "changed", which each caller reads right (a blob of the same bytes; an
        // index read again; a lock of a random name).
        let mut attempt = 0;
        loop {
            let done = self.put_once(name, payload.clone(), mode.clone());
            match done {
                Ok(()) => return Ok(true),
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => return Ok(false),
                Err(_) if attempt < 3 && *mode != PutMode::Overwrite => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(250 << attempt));
                }
                Err(e) => return Err(self.failed("writing", name, &e)),
            }
        }
    }

    fn put_once(&self, name: &str, payload: PutPayload, mode: PutMode) -> object_store::Result<()> {
        let store = Arc::clone(&self.store);
        let path = self.object(name);
        let large = payload.content_length() >= MULTIPART_FROM;
        block(async move {
            if large {
                // Parts cannot be conditional; only content-addressed objects are this large,
                // and writing the same bytes again changes nothing.
                let mut upload = store.put_multipart(&path).await?;
                for part in payload.iter().flat_map(|b| b.chunks(8 << 20)) {
                    upload
                        .put_part(bytes::Bytes::copy_from_slice(part).into())
                        .await?;
                }
                upload.complete().await.map(|_| ())
            } else {
                let opts = PutOptions {
                    mode,
                    ..PutOptions::default()
                };
                store.put_opts(&path, payload, opts).await.map(|_| ())
            }
        })
    }

    /// Create a named object that must not exist: `Ok(false)` when it does.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn create_named(&self, name: &str, bytes: &[u8]) -> Result<bool> {
        self.put_named(name, bytes, &PutMode::Create)
    }

    /// Write a named object whatever is there (a lock's own refresh).
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn overwrite_named(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.put_named(name, bytes, &PutMode::Overwrite).map(|_| ())
    }

    /// Replace `key` only if it is still at `version` (compare-and-swap): `Ok(false)` when
    /// another writer replaced it since it was read.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn replace_if(&self, key: &Key, bytes: &[u8], version: &Version) -> Result<bool> {
        self.put_named(&key.path(), bytes, &PutMode::Update(version.0.clone()))
    }

    /// Remove a named object. Removing an absent object is not an error.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn delete_named(&self, name: &str) -> Result<()> {
        let store = Arc::clone(&self.store);
        let path = self.object(name);
        match block(async move { store.delete(&path).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed("removing", name, &e)),
        }
    }

    /// Remove an object of the layout.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn delete(&self, key: &Key) -> Result<()> {
        {
            let mut recent = self.recent.lock().expect("lock poisoned");
            if let Some(b) = recent.objects.remove(key) {
                recent.bytes -= b.len();
                recent.order.retain(|k| k != key);
            }
        }
        if let Key::Blob(d) = key
            && let Some(known) = self.known_blobs.get()
        {
            known.lock().expect("lock poisoned").remove(d);
        }
        self.delete_named(&key.path())
    }

    /// Every object under `dir` (a name inside the repository, such as `locks`), with its size.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn list_named(&self, dir: &str) -> Result<Vec<(String, u64)>> {
        let store = Arc::clone(&self.store);
        let prefix = if dir.is_empty() && self.remote.prefix.is_empty() {
            None
        } else if dir.is_empty() {
            Some(ObjectPath::from(self.remote.prefix.as_str()))
        } else {
            Some(self.object(dir))
        };
        let listed = block(async move {
            let mut out = Vec::new();
            let mut stream = store.list(prefix.as_ref());
            while let Some(meta) = stream.next().await {
                let meta = meta?;
                out.push((meta.location, meta.size));
            }
            Ok::<_, object_store::Error>(out)
        })
        .map_err(|e| self.failed("listing", dir, &e))?;
        Ok(listed
            .iter()
            .filter_map(|(path, size)| self.name_of(path).map(|n| (n.to_owned(), *size)))
            .collect())
    }

    fn head(&self, name: &str) -> Result<Option<u64>> {
        let store = Arc::clone(&self.store);
        let path = self.object(name);
        match block(async move { store.head(&path).await }) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("reading", name, &e)),
        }
    }

    fn known_blobs(&self) -> Result<&Mutex<HashSet<Digest>>> {
        if let Some(known) = self.known_blobs.get() {
            return Ok(known);
        }
        let listed: HashSet<Digest> = self
            .list(ListKind::Blobs)?
            .into_iter()
            .filter_map(|l| match l.key {
                Key::Blob(d) => Some(d),
                _ => None,
            })
            .collect();
        Ok(self.known_blobs.get_or_init(|| Mutex::new(listed)))
    }
}

impl Store for RemoteStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn form(&self) -> Form {
        Form::Repository
    }

    fn get(&self, key: &Key) -> Result<Vec<u8>> {
        let immutable = matches!(key, Key::Blob(_) | Key::Snapshot(_));
        if immutable && let Some(hit) = self.recent.lock().expect("lock poisoned").get(key) {
            return Ok(hit.as_ref().clone());
        }
        let bytes = self.get_named(&key.path(), key.size_limit())?.0;
        if immutable {
            self.recent
                .lock()
                .expect("lock poisoned")
                .keep(*key, Arc::new(bytes.clone()));
        }
        Ok(bytes)
    }

    fn get_prefix(&self, key: &Key, len: usize) -> Result<(Vec<u8>, u64)> {
        let name = key.path();
        let store = Arc::clone(&self.store);
        let path = self.object(&name);
        let len = len as u64;
        let got = block(async move {
            let options = GetOptions {
                range: Some((0..len.max(1)).into()),
                ..GetOptions::default()
            };
            let result = store.get_opts(&path, options).await?;
            let size = result.meta.size;
            result.bytes().await.map(|b| (b, size))
        });
        match got {
            Ok((bytes, size)) => {
                if size > key.size_limit() {
                    return Err(Error::corrupt(
                        format!("archive `{}`", self.remote),
                        format!(
                            "`{key}` is {size} bytes, over the {}-byte limit",
                            key.size_limit()
                        ),
                    ));
                }
                #[allow(clippy::cast_possible_truncation)] // at most `len`, a usize
                let keep = bytes.len().min(len as usize);
                Ok((bytes[..keep].to_vec(), size))
            }
            Err(object_store::Error::NotFound { .. }) => Err(self.missing(&name)),
            // An empty object has no byte 0 to start a range at.
            Err(_) if self.head(&name)? == Some(0) => Ok((Vec::new(), 0)),
            Err(e) => Err(self.failed("reading", &name, &e)),
        }
    }

    fn size(&self, key: &Key) -> Result<Option<u64>> {
        self.head(&key.path())
    }

    fn list(&self, kind: ListKind) -> Result<Vec<Listed>> {
        let dir = match kind {
            ListKind::Blobs => "blobs/sha256",
            ListKind::Snapshots => "snapshots",
            ListKind::Keys => "keys",
        };
        let mut out: Vec<Listed> = self
            .list_named(dir)?
            .into_iter()
            .filter_map(|(name, size)| Key::parse(&name).map(|key| Listed { key, size }))
            .collect();
        out.sort_by_key(|l| l.key);
        Ok(out)
    }

    fn unknown_entries(&self) -> Vec<String> {
        // Listing the whole repository lists every blob: one request per thousand objects.
        let Ok(all) = self.list_named("") else {
            return Vec::new();
        };
        let mut out: Vec<String> = all
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| Key::parse(name).is_none() && !name.starts_with("locks/"))
            .collect();
        out.sort();
        out
    }
}

impl Sink for RemoteStore {
    fn contains(&self, key: &Key) -> Result<bool> {
        match key {
            Key::Blob(d) => {
                let known = self.known_blobs()?;
                Ok(known.lock().expect("lock poisoned").contains(d))
            }
            _ => Ok(self.head(&key.path())?.is_some()),
        }
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        let mode = match key {
            // Content-addressed: an object already there holds the same bytes.
            Key::Blob(_) | Key::Snapshot(_) | Key::KeyFile(_) => PutMode::Create,
            Key::Layout | Key::Index => PutMode::Overwrite,
        };
        self.put_named(&key.path(), bytes, &mode)?;
        if let Key::Blob(d) = key
            && let Some(known) = self.known_blobs.get()
        {
            known.lock().expect("lock poisoned").insert(*d);
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        // A `PUT` that answered is durable.
        Ok(())
    }
}

/// The S3 configuration of the environment (`AWS_*`), completed from the shared configuration
/// files' profile (`AWS_PROFILE`, else `default`) for what the environment does not say: the
/// keys, the region, the endpoint.
fn s3_from_env() -> object_store::aws::AmazonS3Builder {
    let mut builder = object_store::aws::AmazonS3Builder::from_env();
    let unset = |vars: &[&str]| vars.iter().all(|v| std::env::var_os(v).is_none());
    let profile = super::aws_profile::read();
    if unset(&["AWS_ACCESS_KEY_ID"])
        && let (Some(id), Some(secret)) = (profile.access_key_id, profile.secret_access_key)
    {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = profile.session_token {
            builder = builder.with_token(token);
        }
    }
    if unset(&["AWS_REGION", "AWS_DEFAULT_REGION"])
        && let Some(region) = profile.region
    {
        builder = builder.with_region(region);
    }
    if unset(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3"])
        && let Some(endpoint) = profile.endpoint_url
    {
        builder = builder.with_endpoint(endpoint);
    }
    builder
}

/// Cut query strings (signatures, SAS tokens) out of a message that may quote request URLs.
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("http") {
        let (before, url) = rest.split_at(start);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ','))
            .unwrap_or(url.len());
        let (link, after) = url.split_at(end);
        match link.find('?') {
            Some(q) => {
                out.push_str(&link[..q]);
                out.push_str("?…");
            }
            None => out.push_str(link),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{RECENT_BYTES, Recent, redact};
    use crate::digest::Digest;
    use crate::layout::Key;
    use std::sync::Arc;

    #[test]
    fn objects_read_lately_are_kept_within_the_budget_oldest_out_first() {
        let mut recent = Recent::default();
        let piece = RECENT_BYTES / 10;
        let keys: Vec<Key> = (0u8..12).map(|i| Key::Blob(Digest::of(&[i]))).collect();
        for k in &keys {
            recent.keep(*k, Arc::new(vec![0; piece]));
        }
        assert!(recent.bytes <= RECENT_BYTES);
        assert!(recent.get(&keys[0]).is_none() && recent.get(&keys[1]).is_none());
        assert!(recent.get(&keys[11]).is_some() && recent.get(&keys[2]).is_some());
        // Too large to keep: read again when asked.
        let big = Key::Blob(Digest::of(b"big"));
        recent.keep(big, Arc::new(vec![0; RECENT_BYTES / 4]));
        assert!(recent.get(&big).is_none());
    }

    #[test]
    fn query_strings_of_urls_in_messages_are_cut() {
        let m = "Error performing PUT http://127.0.0.1:10000/devstoreaccount1/c/index.json?sv=2021&sig=SECRET in 1s: 403";
        let r = redact(m);
        assert!(!r.contains("SECRET") && !r.contains("sv=2021"), "{r}");
        assert!(
            r.contains("/c/index.json?…") && r.ends_with("in 1s: 403"),
            "{r}"
        );
        assert_eq!(redact("no url here"), "no url here");
    }
}
