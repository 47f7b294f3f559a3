//! `sigil-core`: what Sigil knows and what it does with it, independent of HTTP and SQL.
//!
//! - [`model`]: the records, in Auth0's shapes so that the Management API maps onto them one to
//!   one (tenant settings, connections, users, clients, APIs, grants, roles, runtime state,
//!   signing keys, logs).
//! - [`store`]: the [`Store`] contract every backend implements, with its error type.
//! - [`ids`], [`secret`], [`password`]: identifiers, secrets and password hashes as types.
//! - [`clock`]: time and randomness as parameters, so tests move a clock instead of sleeping.
//! - [`keyring`]: the signing keys, parsed once, and the JWKS to publish; [`key_family`]: the
//!   kinds of key, and making a family's keys when an algorithm first needs them.
//! - [`consent`]: whether a user must approve what an application asks of an API, the grant
//!   that remembers it, and the consent form's sealed transaction.
//! - [`oauth`]: the OAuth 2.0 flows (client authentication, grants) and their errors.
//! - [`legacy`]: Auth0's legacy `/tokeninfo` and `/delegation`, off unless the tenant enables
//!   them.
//! - [`accounts`], [`tickets`]: signup, password resets and email verification (the mailed
//!   single-use links); [`csrf`]: the hosted forms' CSRF pairs; [`common_passwords`]: the
//!   bundled list of the most common passwords that connections may refuse.
//! - [`passwordless`]: one-time codes and magic links by email or SMS (Auth0's passwordless
//!   connections); [`mfa`]: multi-factor authentication's factors (so far TOTP's codes).
//! - [`management`]: the Management API v2's users, as values: the JSON Auth0 returns, the
//!   search subset, create and update bodies with their validation, and their refusals.
//! - [`egress`]: where tenant code may reach out to, and the addresses it never may.
//! - [`rate_limit`]: token buckets kept in the store, so a limit holds across nodes.
//!
//! The crate talks to the world only through traits ([`Store`], [`Clock`], [`Rng`]).
#![warn(missing_docs)]

pub mod accounts;
pub mod actions;
pub mod attack_protection;
pub mod authorize;
pub mod claims;
pub mod clock;
pub mod common_passwords;
pub mod connections;
pub mod consent;
pub mod continuation;
pub mod csrf;
pub mod egress;
pub mod email_templates;
pub mod events;
pub mod federation;
pub mod housekeeping;
pub mod ids;
mod imported_hash;
pub mod key_family;
pub mod keyring;
pub mod legacy;
pub mod login;
pub mod mail;
pub mod management;
pub mod mfa;
pub mod model;
pub mod oauth;
pub mod password;
pub mod passwordless;
pub mod rate_limit;
pub mod secret;
pub mod store;
pub mod tickets;

pub use clock::{Clock, ManualClock, Rng, SystemClock, SystemRng};
pub use sigil_jose::UnixTime;
pub use store::{Conflict, LinkRefusal, Page, Store, StoreError};
