//! # orgpack-restore
//!
//! Replay a snapshot into one or more ArcGIS organizations: validate, plan per target, then run
//! every target at once.
//!
//! - [`run::validate`] reads every byte the snapshot references (each re-hashed) and checks its
//!   invariants: a damaged archive sends nothing to any target.
//! - [`plan::plan_target`] orders the items dependencies first (orgpack-graph; cycles broken into a
//!   patching pass), maps people ([`people`]: the owner map or the same username among the
//!   target's members, made with `--people create`, else the restoring user, said in the notes)
//!   and groups (the group map, the same id, the same title, else created), and finds
//!   items restored before: through the journal, then the `source-<id>` typeKeyword (twenty ids to
//!   a search), then, keeping ids on ArcGIS Enterprise, the same id. Those are skipped (or updated
//!   with [`plan::OnExisting::Update`]).
//! - [`run::restore`] first makes the people `--people create` asks for ([`people::make`]) and
//!   the groups ([`groups`]: settings, thumbnail, categories, members, then the mapped owner),
//!   then restores each target's items concurrently, each as soon as what it needs
//!   has finished ([`schedule`]), not when its whole wave has: hosted services rebuilt from their
//!   captured definition and loaded from their export ([`rebuild`]; republished from the export
//!   when the backup holds no definition) and checked against its feature counts, other items
//!   created with their data streamed from the archive, every reference rewritten from the
//!   growing id map; then resources, thumbnails, metadata and sharing (never broader than the
//!   source). Files go up from [`staging`], written once for all targets. A failed item's
//!   dependents are skipped; the rest goes on. Each finished step is in
//!   the target's [`journal::Journal`], so a killed run, started again, continues without
//!   duplicates. With `rollback`, when anything in a target failed, what the run created there
//!   is deleted and every existing item it updated is put back as it was (`prior`).
//!
//! [`check::check_target`] reads a target back afterwards: items, sharing, references to the source
//! organization (there must be none) and service feature counts.
//!
//! Offline map areas are made again by the target's packaging service for their restored map,
//! with their packages ([`areas`]); Hub sites are registered and given their hostname in the
//! target's Hub ([`hub`]); as hosted tile and scene layers are published again from
//! their restored feature layer ([`tiles`]). What a restore creates but cannot make work as in
//! the source (caches it cannot rebuild, areas whose map is not restored, a Hub site's address
//! between kinds of portal) is said per item, in the plan too ([`limits`], `incomplete`), and counted per item type
//! ([`report::TargetReport::by_type`]).
//!
//! The library never prints: it returns a [`report::TargetReport`] per target.

pub mod areas;
pub mod check;
pub mod error;
mod form;
pub mod groups;
pub mod hub;
pub mod inplace;
pub mod item;
pub mod journal;
pub mod limits;
pub mod people;
pub mod plan;
pub mod preview;
mod prior;
pub mod rebuild;
pub mod report;
pub mod run;
pub mod schedule;
pub mod staging;
pub mod tiles;
pub mod view;

pub use check::{Checked, check_target};
pub use error::{Error, Result};
pub use people::{InitialPassword, PeopleMode};
pub use plan::{OnExisting, RestoreOptions, SharingMode};
pub use report::{Action, Status, TargetReport};
pub use run::{Target, restore, validate};
