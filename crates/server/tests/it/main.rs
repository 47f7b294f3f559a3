//! Sigil's HTTP endpoints, black-box: the real router on 127.0.0.1:0 over a fresh SQLite store,
//! time from a manual clock, driven with reqwest.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod accounts;
mod app;
mod assertion;
mod branding;
mod browser;
mod busy;
mod code;
mod consent;
mod cors;
mod discovery;
mod es256;
mod housekeeping;
mod http;
mod implicit;
mod legacy;
mod login_page;
mod management;
mod management_client_grants;
mod management_clients;
mod management_connections;
mod management_current_user;
mod management_grants;
mod management_identities;
mod management_jobs;
mod management_logs;
mod management_resource_servers;
mod management_tenant;
mod management_users;
mod oidc_client;
mod password;
mod refresh;
mod reset;
mod signup;
mod token;
