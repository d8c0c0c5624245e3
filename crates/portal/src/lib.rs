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
//! 498/499, retries of what can succeed later. [`calls`] reads what backup needs (portal,
//! search pages, items, data and resources streamed, related items, groups); [`write`] changes a
//! portal as restore needs (items from text, URLs and files, large files in parts; sharing,
//! folders, ownership, relationships, resources; export and publish jobs; feature counts).
//!
//! [`org`] reads users, folders, an owner's view of an item with its sharing, groups with their
//! content and members, and creates groups. [`hosted`] reads and changes hosted services' admin
//! definitions and loads and empties their layers. [`people`] reads and makes custom roles,
//! members (invitations, Enterprise built-in accounts), profiles, group owners, thumbnails,
//! category schemas and the organization's settings. [`recover`] brings items back from the
//! recycle bin, deletes into it, unshares and removes resources.
//!
//! Not yet here: OAuth sign-in, custom CA certificates, createService for views, and the
//! conformance suite against the sandbox.

pub mod calls;
pub mod client;
pub mod error;
pub mod hosted;
pub mod hub;
pub mod oauth;
pub mod org;
pub mod packaging;
pub mod people;
pub mod recover;
pub mod redact;
pub mod retry;
pub mod url;
pub mod write;

pub use calls::ResourceInfo;
pub use client::{Client, ClientOptions, Credentials, Method};
pub use error::{Error, ErrorKind, envelope};
pub use packaging::NewMapArea;
pub use people::NewMember;
pub use redact::redact;
pub use retry::RetryPolicy;
pub use url::{Flavor, PortalUrl};
pub use write::{Content, ExportJob, Published, admin_url};
