//! The sandbox against the orgpack-portal client over real HTTP, and raw requests where the
//! client would hide what is being checked (headers, expiry, the envelope).

mod conformance;
mod features;
mod groups;
mod hub;
mod map_areas;
mod people;
mod tiles;
