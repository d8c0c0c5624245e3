//! # orgpack-portal
//!
//! A client of the ArcGIS REST Sharing API for one portal (ArcGIS Online or Enterprise). This
//! first part holds what every call relies on:
//!
//! - [`PortalUrl`]: any address a user types (`arcgis.com`, `myorg.maps.arcgis.com/home`,
//!   `https://host/portal/sharing/rest`) becomes one root and REST root;
//! - [`Error`]: the portal's error envelope (HTTP 200 with `{"error": {…}}`) and HTTP and
//!   transport failures, each naming the call and the URL, and saying whether a retry can help
//!   ([`Error::is_retryable`]) or a new token ([`Error::is_token_problem`]);
//! - [`redact`]: tokens, passwords and API keys removed from every URL and message;
//! - [`RetryPolicy`]: exponential backoff with full jitter, honouring `Retry-After`.
//!
//! [`Client`] is the HTTP client of one portal (reqwest on tokio, rustls): a bounded number of
//! requests in flight, sign-in with `generateToken` refreshed before expiry and once more on
//! 498/499, retries of what can succeed later, and [`calls`] for what backup and restore need.

pub mod calls;
pub mod client;
pub mod error;
pub mod redact;
pub mod retry;
pub mod url;

pub use calls::ResourceInfo;
pub use client::{Client, ClientOptions, Credentials, Method};
pub use error::{Error, ErrorKind, envelope};
pub use redact::redact;
pub use retry::RetryPolicy;
pub use url::{Flavor, PortalUrl};
