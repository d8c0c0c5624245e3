//! The HTTP client of one portal.
//!
//! ```text
//! call(name, path, params)
//!   └ for each attempt:  permit (≤ max_in_flight) ─► token (sign in / refresh before expiry)
//!        ─► GET or POST with f=json ─► body ─► JSON ─► error envelope?
//!        ├ 498/499 with a password: forget the token (unless replaced), sign in again (≤ 3 a call)
//!        ├ retryable (429, 5xx, transport, timeout): wait backoff ∨ Retry-After, try again
//!        └ otherwise: the error, naming the call and the redacted URL
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

use crate::error::{Error, ErrorKind, envelope};
use crate::redact::redact;
use crate::retry::RetryPolicy;
use crate::url::PortalUrl;

/// How many times one call may meet a rejected token (each time with a new one) before failing.
const TOKEN_RETRIES: u32 = 3;

/// How to sign in.
#[derive(Clone)]
pub enum Credentials {
    /// A built-in account: tokens from `generateToken`, refreshed before they expire.
    Password {
        /// The username.
        username: String,
        /// The password; never logged, never in an error.
        password: String,
    },
    /// A token obtained elsewhere (OAuth access token, `generateToken`), used as it is.
    Token(String),
    /// An API key, sent as a token.
    ApiKey(String),
    /// An OAuth refresh token of a registered application (`orgpack login` obtains one through
    /// the authorization-code flow): access tokens come from `oauth2/token` with
    /// `grant_type=refresh_token`, renewed before they expire and once more on 498. For accounts
    /// that cannot use `generateToken` (SAML and other identity providers).
    OAuth {
        /// The application's client id.
        client_id: String,
        /// The refresh token; never logged, never in an error.
        refresh_token: String,
    },
    /// No sign-in: public content only.
    Anonymous,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { username, .. } => write!(
                f,
                "Password {{ username: {username:?}, password: REDACTED }}"
            ),
            Self::Token(_) => f.write_str("Token(REDACTED)"),
            Self::ApiKey(_) => f.write_str("ApiKey(REDACTED)"),
            Self::OAuth { client_id, .. } => write!(
                f,
                "OAuth {{ client_id: {client_id:?}, refresh_token: REDACTED }}"
            ),
            Self::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Retries of failed calls.
    pub retry: RetryPolicy,
    /// Requests in flight at once to this portal.
    pub max_in_flight: usize,
    /// Longest a whole request may take (connect, send, receive).
    pub timeout: Duration,
    /// Longest connecting may take.
    pub connect_timeout: Duration,
    /// A token is renewed when it has less than this left.
    pub refresh_margin: Duration,
    /// Accept any certificate: for a local sandbox only.
    pub insecure: bool,
    /// Extra trusted root certificates, PEM (an Enterprise portal's own CA, a sandbox's
    /// generated certificate).
    pub ca_certs: Vec<Vec<u8>>,
    /// The Hub API of the portal's environment (its domain service, [`crate::hub`]), when not
    /// the one ArcGIS Online's address implies ([`Client::hub_api`]): a sandbox's.
    pub hub_url: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            max_in_flight: 8,
            timeout: Duration::from_mins(2),
            connect_timeout: Duration::from_secs(20),
            refresh_margin: Duration::from_mins(2),
            insecure: false,
            ca_certs: Vec::new(),
            hub_url: None,
        }
    }
}

/// GET for reads, POST for writes and anything with a long body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Parameters in the query string.
    Get,
    /// Parameters as a form body.
    Post,
}

/// What a request carries.
enum Payload<'a> {
    /// `f=json` and the parameters, in the query (GET) or as a form (POST).
    Params(Method, &'a [(&'a str, &'a str)]),
    /// A multipart form: the parameters and one file from disk, whole or the byte range
    /// `(offset, length)` of it, streamed (opened again for each attempt).
    File {
        params: &'a [(&'a str, &'a str)],
        field: &'a str,
        file: &'a std::path::Path,
        name: &'a str,
        range: Option<(u64, u64)>,
    },
    /// A multipart form: the parameters and bytes as the field `field`.
    Bytes {
        params: &'a [(&'a str, &'a str)],
        field: &'a str,
        /// Shared, so a retry resends it without copying.
        bytes: bytes::Bytes,
        name: &'a str,
    },
}

struct Token {
    value: String,
    expires: Option<Instant>,
}

/// A client of one portal. Cheap to share: calls take `&self` and may run concurrently.
pub struct Client {
    http: reqwest::Client,
    url: PortalUrl,
    credentials: Credentials,
    token: Mutex<Option<Token>>,
    permits: Semaphore,
    options: ClientOptions,
    sign_ins: AtomicU64,
    requests: AtomicU64,
    jitter: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url.root)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `url`.
    ///
    /// # Errors
    /// When the HTTP stack cannot be set up.
    pub fn new(
        url: PortalUrl,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        // No total timeout on the client: JSON calls set one per request; downloads, which may
        // take hours, fail only when the connection goes quiet for `timeout`.
        let mut builder = reqwest::Client::builder();
        for pem in &options.ca_certs {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                Error::new(
                    "client",
                    &url.root,
                    ErrorKind::Transport(format!("reading a CA certificate: {e}")),
                )
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .read_timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(Duration::from_mins(1))
            .user_agent(concat!("orgpack/", env!("CARGO_PKG_VERSION")))
            .tls_danger_accept_invalid_certs(options.insecure)
            .build()
            .map_err(|e| Error::new("client", &url.root, ErrorKind::Transport(e.to_string())))?;
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| {
            u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(1) | 1
        });
        Ok(Self {
            http,
            permits: Semaphore::new(options.max_in_flight.max(1)),
            url,
            credentials,
            token: Mutex::new(None),
            options,
            sign_ins: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            jitter: AtomicU64::new(seed),
        })
    }

    /// The Hub API of the portal's environment: the one the options give, else, for ArcGIS
    /// Online, the one its address implies, as Esri's hub.js derives it (`hubdev.arcgis.com` for
    /// `mapsdevext`, `hubqa.arcgis.com` for `mapsqa`, else `hub.arcgis.com`); ArcGIS Enterprise
    /// has none.
    #[must_use]
    pub fn hub_api(&self) -> Option<String> {
        if let Some(h) = &self.options.hub_url {
            return Some(h.trim_end_matches('/').to_owned());
        }
        let host = self.url.root.split("://").nth(1)?.split('/').next()?;
        if self.url.flavor != crate::url::Flavor::Online || !host.ends_with("arcgis.com") {
            return None;
        }
        let env = if host.contains("mapsdevext") || host.contains("devext.arcgis.com") {
            "hubdev"
        } else if host.contains("mapsqa") || host.contains("qaext.arcgis.com") {
            "hubqa"
        } else {
            "hub"
        };
        Some(format!("https://{env}.arcgis.com"))
    }

    /// The portal this client talks to.
    #[must_use]
    pub fn url(&self) -> &PortalUrl {
        &self.url
    }

    /// How many times this client has signed in (for tests and reports).
    #[must_use]
    pub fn sign_ins(&self) -> u64 {
        self.sign_ins.load(Ordering::Relaxed)
    }

    /// How many HTTP requests this client has sent, retries and sign-ins included (for reports
    /// and metrics).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Call `path` (relative to `<root>/sharing/rest/`, or an absolute URL) and return its JSON.
    ///
    /// # Errors
    /// The last error after retries, naming `call` and the redacted URL.
    pub async fn call(
        &self,
        call: &str,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, Error> {
        self.send(call, path, &Payload::Params(method, params))
            .await
    }

    /// Post a multipart form with `params` and a file streamed from disk as field `field`.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Transport`] when the file cannot be read.
    pub async fn upload_form(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, &str)],
        field: &str,
        file: &std::path::Path,
        name: &str,
    ) -> Result<Value, Error> {
        self.send(
            call,
            path,
            &Payload::File {
                params,
                field,
                file,
                name,
                range: None,
            },
        )
        .await
    }

    /// Post a multipart form with `params` and `length` bytes of `file` from `offset`, streamed,
    /// as the field `file` (upload parts: memory stays a buffer, whatever the part size).
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Transport`] when the file cannot be read.
    pub async fn upload_file_range(
        &self,
        call: &str,
        path: &str,
        file: &std::path::Path,
        (offset, length): (u64, u64),
        name: &str,
    ) -> Result<Value, Error> {
        self.send(
            call,
            path,
            &Payload::File {
                params: &[],
                field: "file",
                file,
                name,
                range: Some((offset, length)),
            },
        )
        .await
    }

    /// Post a multipart form with `params` and bytes as the file field `field` (`file` for
    /// resources, `thumbnail` for group and user thumbnails).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn upload_bytes(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, &str)],
        (field, bytes): (&str, Vec<u8>),
        name: &str,
    ) -> Result<Value, Error> {
        self.send(
            call,
            path,
            &Payload::Bytes {
                params,
                field,
                bytes: bytes.into(),
                name,
            },
        )
        .await
    }

    /// The retry loop every JSON request goes through.
    async fn send(&self, call: &str, path: &str, payload: &Payload<'_>) -> Result<Value, Error> {
        let url = self.absolute(path);
        let mut rejected = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token(&url).await?;
            let error = match self.attempt(call, &url, payload, token.as_deref()).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !self
                .recover(&error, token.as_deref(), &mut rejected, attempt)
                .await
            {
                return Err(error);
            }
        }
    }

    /// After a failed attempt: on a rejected token, forget it (unless another request has replaced
    /// it already) and try again with a new one, up to [`TOKEN_RETRIES`] times a call; or wait and
    /// say "again" for what can succeed later. Returns whether to try again.
    async fn recover(
        &self,
        error: &Error,
        used: Option<&str>,
        rejected: &mut u32,
        attempt: u32,
    ) -> bool {
        if error.is_token_problem()
            && *rejected < TOKEN_RETRIES
            && matches!(
                self.credentials,
                Credentials::Password { .. } | Credentials::OAuth { .. }
            )
        {
            *rejected += 1;
            let mut slot = self.token.lock().await;
            // Requests in flight share a token: when it is rejected, the first to hear signs in
            // again; the others find the new token and use it rather than sign in once more.
            if slot.as_ref().map(|t| t.value.as_str()) == used {
                *slot = None;
            }
            return true;
        }
        if !error.is_retryable() {
            return false;
        }
        match self.options.retry.delay(
            attempt,
            self.next_unit(),
            error.retry_after().map(Duration::from_secs),
        ) {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                true
            }
            None => false,
        }
    }

    /// A JSON request outside the portal's REST API (ArcGIS Hub's domain service), signed with
    /// the portal's token in an `Authorization` header as Hub's clients send it: the HTTP status
    /// and the JSON answer (`Null` for an empty body). No retries: the callers look before they
    /// write.
    ///
    /// # Errors
    /// [`ErrorKind::Transport`] when the request fails; [`ErrorKind::Decode`] for a body that is
    /// not JSON.
    pub(crate) async fn json_request(
        &self,
        call: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Error> {
        let token = self.token(url).await?;
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let shown = crate::redact::redact(url);
        let mut request = self.http.request(method, url);
        if let Some(t) = token {
            request = request.header(reqwest::header::AUTHORIZATION, t);
        }
        if let Some(b) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let (status, _, bytes) = self.exchange(call, &shown, request).await?;
        if bytes.is_empty() {
            return Ok((status, Value::Null));
        }
        let value = serde_json::from_slice(&bytes).map_err(|_| {
            Error::new(
                call,
                &shown,
                ErrorKind::Decode(format!("HTTP {status}: the answer is not JSON")),
            )
        })?;
        Ok((status, value))
    }

    /// Send `request` (counted) and read its whole answer: the status, `Retry-After` in seconds
    /// when given, and the body. A failure to send or read is [`ErrorKind::Transport`], naming
    /// `call` and `shown` (the redacted URL).
    async fn exchange(
        &self,
        call: &str,
        shown: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<u64>, bytes::Bytes), Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let transport =
            |e: reqwest::Error| Error::new(call, shown, ErrorKind::Transport(describe(&e)));
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response.bytes().await.map_err(transport)?;
        Ok((status, retry_after, body))
    }

    async fn attempt(
        &self,
        call: &str,
        url: &str,
        payload: &Payload<'_>,
        token: Option<&str>,
    ) -> Result<Value, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let (request, shown) = self.build(call, url, payload, token).await?;
        let (status, retry_after, body) = self.exchange(call, &shown, request).await?;
        let parsed: Result<Value, _> = serde_json::from_slice(&body);
        match parsed {
            Ok(v) => match envelope(&v) {
                Some(kind) => Err(Error::new(call, &shown, kind)),
                None if status >= 400 => Err(Error::new(
                    call,
                    &shown,
                    ErrorKind::Http {
                        status,
                        retry_after,
                    },
                )),
                None => Ok(v),
            },
            Err(_) if status >= 400 => Err(Error::new(
                call,
                &shown,
                ErrorKind::Http {
                    status,
                    retry_after,
                },
            )),
            Err(e) => {
                let start: String = String::from_utf8_lossy(&body[..body.len().min(60)])
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect();
                Err(Error::new(
                    call,
                    &shown,
                    ErrorKind::Decode(format!("not JSON ({e}); it starts with `{start}`")),
                ))
            }
        }
    }

    /// The token to send, signing in when there is none or it is about to expire.
    async fn token(&self, url: &str) -> Result<Option<String>, Error> {
        match &self.credentials {
            Credentials::Password { .. } | Credentials::OAuth { .. } => {}
            Credentials::Token(t) | Credentials::ApiKey(t) => return Ok(Some(t.clone())),
            Credentials::Anonymous => return Ok(None),
        }
        if url.ends_with("/generateToken") || url.ends_with("/oauth2/token") {
            return Ok(None);
        }
        let mut slot = self.token.lock().await;
        let fresh = slot.as_ref().is_some_and(|t| {
            t.expires
                .is_none_or(|e| e > Instant::now() + self.options.refresh_margin)
        });
        if !fresh {
            *slot = Some(self.sign_in().await?);
        }
        Ok(slot.as_ref().map(|t| t.value.clone()))
    }

    /// A new token: `generateToken` with the password, or `oauth2/token` with the refresh token.
    async fn sign_in(&self) -> Result<Token, Error> {
        let (call, url, params) = match &self.credentials {
            Credentials::Password { username, password } => (
                "generateToken",
                format!("{}/generateToken", self.url.rest()),
                vec![
                    ("f", "json"),
                    ("username", username.as_str()),
                    ("password", password.as_str()),
                    ("referer", self.url.root.as_str()),
                    ("expiration", "60"),
                ],
            ),
            Credentials::OAuth {
                client_id,
                refresh_token,
            } => (
                "oauth2/token",
                format!("{}/oauth2/token", self.url.rest()),
                vec![
                    ("f", "json"),
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id.as_str()),
                    ("refresh_token", refresh_token.as_str()),
                    ("expiration", "120"),
                ],
            ),
            Credentials::Token(_) | Credentials::ApiKey(_) | Credentials::Anonymous => {
                unreachable!("only passwords and refresh tokens sign in")
            }
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                self.requests.fetch_add(1, Ordering::Relaxed);
                let response = self
                    .http
                    .post(&url)
                    .form(&params)
                    .send()
                    .await
                    .map_err(|e| Error::new(call, &url, ErrorKind::Transport(describe(&e))))?;
                let status = response.status().as_u16();
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| Error::new(call, &url, ErrorKind::Transport(describe(&e))))?;
                let v: Value = serde_json::from_slice(&body).map_err(|_| {
                    if status >= 400 {
                        Error::new(
                            call,
                            &url,
                            ErrorKind::Http {
                                status,
                                retry_after: None,
                            },
                        )
                    } else {
                        Error::new(
                            call,
                            &url,
                            ErrorKind::Auth("the portal did not answer JSON".into()),
                        )
                    }
                })?;
                if let Some(kind) = envelope(&v) {
                    let kind = match kind {
                        ErrorKind::Portal {
                            code,
                            message,
                            details,
                        } if !matches!(code, 429 | 500..=504) => {
                            // The details say why ("Invalid username or password.", "This
                            // account has been disabled."); the message alone does not.
                            let why = if details.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", details.join("; "))
                            };
                            ErrorKind::Auth(format!("{message}{why} (code {code})"))
                        }
                        other => other,
                    };
                    return Err(Error::new(call, &url, kind));
                }
                let value = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Error::new(call, &url, ErrorKind::Auth("no token in the answer".into()))
                    })?;
                // `generateToken`: `expires`, epoch ms; `oauth2/token`: `expires_in`, seconds.
                let expires = if let Some(ms) = v.get("expires").and_then(Value::as_i64) {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                    Some(
                        Instant::now()
                            + Duration::from_millis(u64::try_from(ms - now).unwrap_or(0)),
                    )
                } else {
                    v.get("expires_in")
                        .and_then(Value::as_u64)
                        .map(|s| Instant::now() + Duration::from_secs(s))
                };
                Ok(Token {
                    value: value.to_owned(),
                    expires,
                })
            }
            .await;
            match result {
                Ok(token) => {
                    self.sign_ins.fetch_add(1, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(e) if e.is_retryable() => match self.options.retry.delay(
                    attempt,
                    self.next_unit(),
                    e.retry_after().map(Duration::from_secs),
                ) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// The request for one attempt, and the URL to show in errors (credentials redacted later).
    async fn build(
        &self,
        call: &str,
        url: &str,
        payload: &Payload<'_>,
        token: Option<&str>,
    ) -> Result<(reqwest::RequestBuilder, String), Error> {
        let mut base: Vec<(&str, &str)> = vec![("f", "json")];
        if let Some(t) = token {
            base.push(("token", t));
        }
        Ok(match payload {
            Payload::Params(method, params) => {
                let mut all = base;
                all.extend_from_slice(params);
                let request = match method {
                    Method::Get => self.http.get(url).query(&all),
                    Method::Post => self.http.post(url).form(&all),
                };
                let shown = if *method == Method::Get {
                    with_query(url, &all)
                } else {
                    url.to_owned()
                };
                (request.timeout(self.options.timeout), shown)
            }
            Payload::File {
                params,
                field,
                file,
                name,
                range,
            } => {
                let failed = |e: std::io::Error| {
                    Error::new(
                        call,
                        url,
                        ErrorKind::Transport(format!("reading `{}`: {e}", file.display())),
                    )
                };
                let mut opened = tokio::fs::File::open(file).await.map_err(failed)?;
                let part = if let Some((offset, len)) = *range {
                    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
                    opened
                        .seek(std::io::SeekFrom::Start(offset))
                        .await
                        .map_err(failed)?;
                    reqwest::multipart::Part::stream_with_length(file_body(opened.take(len)), len)
                } else {
                    let len = opened.metadata().await.map_err(failed)?.len();
                    reqwest::multipart::Part::stream_with_length(file_body(opened), len)
                }
                .file_name((*name).to_owned());
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in *params {
                    form = form.text((*k).to_owned(), (*v).to_owned());
                }
                form = form.part((*field).to_owned(), part);
                // A large file may take long: only an idle connection fails it.
                (
                    self.http.post(url).query(&base).multipart(form),
                    url.to_owned(),
                )
            }
            Payload::Bytes {
                params,
                field,
                bytes,
                name,
            } => {
                let part = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::from(bytes.clone()),
                    bytes.len() as u64,
                )
                .file_name((*name).to_owned());
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in *params {
                    form = form.text((*k).to_owned(), (*v).to_owned());
                }
                let form = form.part((*field).to_owned(), part);
                (
                    self.http
                        .post(url)
                        .query(&base)
                        .multipart(form)
                        .timeout(self.options.timeout),
                    url.to_owned(),
                )
            }
        })
    }

    /// The absolute URL of `path` (relative to the REST root, or already absolute).
    pub(crate) fn absolute(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}/{}", self.url.rest(), path.trim_start_matches('/'))
        }
    }

    /// Stream the body of `path` into `sink`. `Ok(None)` when the portal says there is nothing
    /// (an empty body, or "does not have a file"). Redirects are followed; the token travels in the
    /// query string of the first request only, so a signed blob URL never receives it. Retries
    /// happen only before the first byte is written.
    ///
    /// # Errors
    /// As [`Client::call`], and [`ErrorKind::Transport`] when writing to `sink` fails.
    pub async fn download<W>(
        &self,
        call: &str,
        path: &str,
        sink: &mut W,
    ) -> Result<Option<u64>, Error>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        use futures_util::StreamExt as _;
        use tokio::io::AsyncWriteExt as _;
        let url = self.absolute(path);
        let mut rejected = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token(&url).await?;
            let permit = self
                .permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let mut request = self.http.get(&url);
            if let Some(t) = token.as_deref() {
                request = request.query(&[("token", t)]);
            }
            let shown = match token {
                Some(_) => format!("{url}?token=REDACTED"),
                None => url.clone(),
            };
            let mut wrote = false;
            let outcome: Result<Option<u64>, Error> = async {
                self.requests.fetch_add(1, Ordering::Relaxed);
                let response = request
                    .send()
                    .await
                    .map_err(|e| Error::new(call, &shown, ErrorKind::Transport(describe(&e))))?;
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
                let is_json = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("json") || v.contains("text/plain"));
                let mut stream = response.bytes_stream();
                let Some(first) = stream.next().await else {
                    return if status >= 400 {
                        Err(Error::new(
                            call,
                            &shown,
                            ErrorKind::Http {
                                status,
                                retry_after,
                            },
                        ))
                    } else {
                        Ok(None)
                    };
                };
                let first = first
                    .map_err(|e| Error::new(call, &shown, ErrorKind::Transport(describe(&e))))?;
                // A portal error arrives as a small JSON body, possibly with status 200.
                if first.starts_with(b"{\"error\"")
                    || (is_json
                        && first.len() < 4096
                        && first.windows(8).any(|w| w == b"\"error\":"))
                {
                    let mut body = first.to_vec();
                    while let Some(chunk) = stream.next().await {
                        body.extend_from_slice(&chunk.map_err(|e| {
                            Error::new(call, &shown, ErrorKind::Transport(describe(&e)))
                        })?);
                        if body.len() > 1 << 20 {
                            break;
                        }
                    }
                    if let Some(kind) = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .as_ref()
                        .and_then(envelope)
                    {
                        if let ErrorKind::Portal { message, .. } = &kind
                            && message
                                .to_ascii_lowercase()
                                .contains("does not have a file")
                        {
                            return Ok(None);
                        }
                        return Err(Error::new(call, &shown, kind));
                    }
                    wrote = true;
                    sink.write_all(&body).await.map_err(|e| {
                        Error::new(call, &shown, ErrorKind::Transport(format!("writing: {e}")))
                    })?;
                    let mut written = body.len() as u64;
                    while let Some(chunk) = stream.next().await {
                        let chunk = chunk.map_err(|e| {
                            Error::new(call, &shown, ErrorKind::Transport(describe(&e)))
                        })?;
                        sink.write_all(&chunk).await.map_err(|e| {
                            Error::new(call, &shown, ErrorKind::Transport(format!("writing: {e}")))
                        })?;
                        written += chunk.len() as u64;
                    }
                    return Ok(Some(written));
                }
                if status >= 400 {
                    return Err(Error::new(
                        call,
                        &shown,
                        ErrorKind::Http {
                            status,
                            retry_after,
                        },
                    ));
                }
                let mut written = first.len() as u64;
                wrote = true;
                sink.write_all(&first).await.map_err(|e| {
                    Error::new(call, &shown, ErrorKind::Transport(format!("writing: {e}")))
                })?;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| {
                        Error::new(call, &shown, ErrorKind::Transport(describe(&e)))
                    })?;
                    sink.write_all(&chunk).await.map_err(|e| {
                        Error::new(call, &shown, ErrorKind::Transport(format!("writing: {e}")))
                    })?;
                    written += chunk.len() as u64;
                }
                sink.flush().await.map_err(|e| {
                    Error::new(call, &shown, ErrorKind::Transport(format!("writing: {e}")))
                })?;
                Ok(Some(written))
            }
            .await;
            drop(permit);
            let error = match outcome {
                Ok(n) => return Ok(n),
                Err(e) => e,
            };
            // Once bytes have reached the sink only the caller can start over.
            if wrote
                || !self
                    .recover(&error, token.as_deref(), &mut rejected, attempt)
                    .await
            {
                return Err(error);
            }
        }
    }

    /// A number in [0, 1) for jitter (xorshift; no cryptographic use).
    fn next_unit(&self) -> f64 {
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        // 53 random bits fit an f64 mantissa exactly.
        #[allow(clippy::cast_precision_loss)]
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }
}

fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{url}?{}", query.join("&"))
}

/// A file as a request body, read in 1 MiB pieces: tokio reads files on its blocking pool, one
/// hand-off a read, so small reads (reqwest's default) cost a thread switch every 8 KiB.
fn file_body(file: impl tokio::io::AsyncRead + Unpin + Send + Sync + 'static) -> reqwest::Body {
    use tokio::io::AsyncReadExt as _;
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    reqwest::Body::wrap_stream(chunks)
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        // The innermost cause says why: refused, no route, an untrusted certificate…
        let mut why = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            why = inner.to_string();
            source = inner.source();
        }
        format!("could not connect ({})", redact(&why))
    } else {
        let mut s = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            source = inner.source();
        }
        s
    }
}
