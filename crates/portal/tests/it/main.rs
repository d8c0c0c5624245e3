//! Integration tests of orgpack-portal against a local server that answers as a portal does.

#![allow(clippy::cast_possible_truncation)]

mod client;
mod mock;
mod write;
