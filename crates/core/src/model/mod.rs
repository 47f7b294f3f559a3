//! The records Sigil keeps, in Auth0's shapes (field names as the Management API v2 spells
//! them), so that the API maps onto them one to one. Timestamps are Unix seconds
//! ([`UnixTime`](crate::UnixTime)), except log dates, which are milliseconds.

pub mod access;
pub mod action;
pub mod api;
pub mod attack_protection;
pub mod client;
pub mod client_rules;
pub mod connection;
pub mod email_provider;
pub mod email_template;
pub mod job;
pub mod log;
pub mod mfa;
pub mod outbox;
pub mod rule;
pub mod runtime;
pub mod signing_key;
pub mod tenant;
pub mod user;

pub use access::{ClientGrant, Consent, Permission, Role};
pub use action::{
    Action, ActionCode, ActionExecution, ActionSecret, ActionVersion, Binding, BoundAction,
    BuildError, BuildStatus, Dependency, ExecutionResult, QueuedTrigger, TriggerRef,
};
pub use api::{ResourceServer, ResourceServerScope, TokenDialect};
pub use attack_protection::{
    BreachShield, BreachedPasswordSettings, BruteForceMode, BruteForceSettings, BruteForceShield,
    LoginCounter, LoginFailures, StageShield, SuspiciousIpSettings, ThrottleShield, ThrottleStage,
};
pub use client::{
    AppType, Client, ClientCredential, ClientSettings, GrantType, JwtConfiguration,
    RefreshTokenExpiration, RefreshTokenPolicy, RefreshTokenRotation, TokenEndpointAuthMethod,
};
pub use client_rules::InvalidClient;
pub use connection::{
    Connection, ConnectionOptions, PasswordPolicy, PasswordRefusal, Strategy, StrategyKind,
    Upstream, UpstreamSecrets,
};
pub use email_provider::{EmailProvider, SmtpCredentials};
pub use email_template::{EmailTemplate, TemplateName};
pub use job::{Job, JobKind};
pub use log::{LogEvent, LogQuery, LogType, NewLogEvent};
pub use mfa::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, BrowserMemory, MfaFactor, MfaPolicy,
    MfaSettings, OobCode,
};
pub use outbox::{ClaimedEmail, Delivered, DeliveryStatus, OutboxEntry, OutgoingEmail};
pub use rule::{Rule, RulesConfig};
pub use runtime::{
    AuthorizationCode, DeviceCode, DeviceStatus, FederationTransaction, PasswordlessCode,
    RefreshToken, Session, Ticket, TicketKind,
};
pub use signing_key::{KeyState, SigningKeyRecord, family_name};
pub use tenant::{Branding, BrandingColors, BrandingFont, TenantFlags, TenantSettings};
pub use user::{
    Identity, METADATA_LIMIT, MetadataTooLarge, NewUser, User, UserQuery, UserSort, UserSortField,
    check_metadata,
};

/// A JSON object (`user_metadata`, `app_metadata`, `details`, …).
pub type JsonObject = serde_json::Map<String, serde_json::Value>;
