//! The Management API v2's domain part, so that its HTTP handlers stay thin: users as the API
//! returns them (`fields`/`include_fields` projection), the subset of Lucene search Sigil
//! answers, the create and update bodies with Auth0's validation and merge rules, Auth0's bulk
//! user import format ([`import`]) and the import job the API and the CLI both run
//! ([`import_job`]), the ticket bodies ([`tickets`]), and [`ManagementError`], whose variants carry Auth0's status,
//! `errorCode` and message.
//!
//! Nothing here hashes a password: argon2id is slow, so the functions say which password must
//! be hashed and take the hash the caller made off-thread. Only the import job touches the
//! store.

pub mod actions;
pub mod attack_protection;
pub mod body;
pub mod branding;
pub mod connections;
pub mod email_provider;
pub mod email_templates;
pub mod error;
pub mod export;
pub mod guardian;
pub mod import;
pub mod import_job;
pub mod jobs;
pub mod linking;
pub mod logs;
pub mod rules;
pub mod tenant;
pub mod tickets;
pub mod user_create;
pub mod user_json;
pub mod user_patch;
pub mod user_search;

pub use body::{Body, PlainPassword, parse_body};
pub use branding::BrandingPatch;
pub use connections::{
    ConnectionCreate, ConnectionPatch, NewConnection, check_one_per_tenant, checkpoint_page,
    checkpoint_take, client_page, client_status_changes, connection_json, discovered,
};
pub use email_provider::{EmailProviderBody, email_provider_json, project_provider};
pub use email_templates::{EmailTemplateBody, email_template_json, template_name};
pub use error::ManagementError;
pub use jobs::job_json;
pub use linking::{LinkBody, LinkTarget, link_refused, local_id};
pub use logs::{log_json, parse_log_search};
pub use tenant::TenantPatch;
pub use tickets::{PasswordTicketBody, TicketUser, ValidTicket, VerificationTicketBody};
pub use user_create::{CreateUser, ValidCreate};
pub use user_json::{identities_json, project, user_json, user_json_showing};
pub use user_patch::{UserPatch, ValidPatch, apply};
pub use user_search::{parse_user_search, parse_user_sort};
