//! The Actions engine on real JavaScript, through its public API only.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod engine;
mod fetch;
