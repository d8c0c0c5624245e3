//! The clap definition of the `orgpack` command line, exposed so tests can check it
//! (`Command::debug_assert`). The binary is `src/main.rs`.

pub mod cli;
