//! # orgpack-backup
//!
//! Back up an ArcGIS organization, or part of it, into an orgpack archive: [`plan`] first, then
//! [`run`].
//!
//! - [`plan`] resolves the selection (`--all`, owners, folders, groups, queries, item ids; listed
//!   user by user and folder by folder rather than searched), reads each item's JSON and its
//!   owner's view (sharing, folder), and follows its dependencies within the organization: item
//!   ids and service URLs in its JSON, data and JSON resources (orgpack-graph's rules), and its
//!   forward relationships. Content of other organizations is recorded as external and not
//!   fetched. Items whose `modified` equals the parent snapshot's are marked for reuse, but for a
//!   hosted feature service whose layers were edited or redefined since ([`service_state`]).
//! - [`run`] captures every planned item concurrently (bounded by the plan's concurrency and the
//!   client's requests in flight): item JSON, data, thumbnail, metadata, every resource with its
//!   full path, and a fresh File Geodatabase or shapefile export of each hosted feature service,
//!   whose temporary export item is deleted whatever happens. Downloads stream through a
//!   [`spool::Spool`] (memory, then a temporary file) into the archive's blob writer, so memory
//!   does not grow with payload size. Then [`people`]: the groups (JSON, thumbnail, category
//!   schema, members), the owners, and unless `--people none` every member with their picture,
//!   the custom roles and the organization's group settings and category schema; and one
//!   snapshot is committed.
//! - A part or item that fails is recorded in the snapshot's `failures` and the run goes on; the
//!   next backup fetches it again. Reused items need no download and no export.
//!
//! The library never prints; [`Progress`] carries events to the CLI.

pub mod capture;
pub mod error;
pub mod fetch;
mod form;
pub mod item_json;
pub mod ledger;
pub mod parent;
pub mod people;
pub mod plan;
pub mod progress;
pub mod relations;
pub mod run;
pub mod select;
pub mod service_state;
pub mod sharing;
pub mod spool;
mod tiles;

pub use error::{Error, Result};
pub use parent::find_parent;
pub use plan::{Plan, PlanOptions, PlannedItem, Skipped, Why, plan};
pub use progress::{NoProgress, Progress};
pub use run::{Outcome, run};
