//! Integration tests of orgpack-graph: one binary.

mod corpus;
mod rewrite;
