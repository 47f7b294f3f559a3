//! The storage contract. Everything Sigil knows goes through [`Store`]; `sigil-store`
//! implements it on SQLite and PostgreSQL, and one contract test suite holds both to it.
//!
//! What must be atomic is atomic inside the store, in one SQL statement or transaction, never
//! check-then-write in the caller: redeeming a code, rotating a refresh token, consuming a
//! ticket or device code, uniqueness of emails, rotating signing keys. Secrets arrive here as
//! digests ([`SecretDigest`]); signing keys and upstream tokens are sealed by the store.

use std::future::Future;

use crate::UnixTime;
use crate::ids::{
    ActionId, ActionVersionId, ClientGrantId, ClientId, ConnectionId, ConsentId, FamilyId, JobId,
    LogId, ResourceServerId, RoleId, RuleId, SessionId, UserId,
};
use crate::model::{
    Action, ActionCode, ActionExecution, ActionVersion, Authenticator, AuthorizationCode, Binding,
    BoundAction, BrowserMemory, ClaimedEmail, Client, ClientGrant, Connection, Consent, Delivered,
    DeviceCode, DeviceStatus, EmailProvider, EmailTemplate, FederationTransaction, Job, JsonObject,
    LogEvent, LogQuery, LoginCounter, LoginFailures, NewLogEvent, OobCode, OutboxEntry,
    OutgoingEmail, PasswordlessCode, Permission, QueuedTrigger, RefreshToken, ResourceServer, Role,
    Rule, RulesConfig, Session, SigningKeyRecord, TemplateName, TenantSettings, Ticket, TicketKind,
    User, UserQuery,
};
use crate::password::PasswordHash;
use crate::secret::SecretDigest;

/// A store operation's result.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record (or one it refers to) does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value is taken.
    #[error("{0}")]
    Conflict(Conflict),
    /// A single-use value (code, rotated refresh token, ticket, device code) was used already.
    #[error("already used")]
    AlreadyUsed,
    /// The value's lifetime is over.
    #[error("expired")]
    Expired,
    /// The value was revoked.
    #[error("revoked")]
    Revoked,
    /// A stored record cannot be read back (written by a newer Sigil, or damaged).
    #[error("a stored {what} cannot be read: {why}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// What was wrong.
        why: String,
    },
    /// The database cannot serve now (down, unreachable, its pool exhausted, its disk full):
    /// the caller is told to try again shortly (503); details are for the log.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed otherwise; details are for the log, not the caller.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Whether the database cannot serve right now (the caller may try again shortly), as
    /// opposed to a failure of this request.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Why two accounts could not be linked, decided inside the linking transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    /// There is no primary user (or it is itself a linked account).
    NoPrimary,
    /// There is no secondary account, or it is linked already.
    NoSecondary,
    /// An account cannot be linked to itself.
    Same,
    /// Accounts are linked to the secondary one: it is a primary itself.
    SecondaryHasLinks,
}

/// Which unique value a write collided with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// The user id is taken.
    UserId,
    /// A user of this connection has this email (ignoring case).
    Email,
    /// A user of this connection has this username (ignoring case).
    Username,
    /// A user of this connection has this phone number.
    PhoneNumber,
    /// The user already has a confirmed authenticator of that kind.
    Authenticator,
    /// A connection has this name or id.
    Connection,
    /// A client has this id.
    Client,
    /// An API has this identifier or id.
    ResourceServer,
    /// The client already has a grant for this API.
    ClientGrant,
    /// A role has this name or id.
    Role,
    /// A signing key has this kid, or a second current (or next) key of one family was
    /// attempted.
    SigningKey,
    /// A runtime value (session, code, token, ticket, device or user code) collided.
    Token,
    /// An Action has this name.
    Action,
    /// The Action is bound to a trigger.
    ActionBound,
    /// A Rule has this name.
    Rule,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::UserId => "a user with this user_id already exists",
            Conflict::Email => "a user with this email already exists in this connection",
            Conflict::Username => "a user with this username already exists in this connection",
            Conflict::PhoneNumber => {
                "a user with this phone number already exists in this connection"
            }
            Conflict::Authenticator => "the user already has an authenticator of this type",
            Conflict::Connection => "a connection with this name already exists",
            Conflict::Client => "a client with this client_id already exists",
            Conflict::ResourceServer => "an API with this identifier already exists",
            Conflict::ClientGrant => "this client already has a grant for this API",
            Conflict::Role => "a role with this name already exists",
            Conflict::SigningKey => "a signing key with this kid already exists",
            Conflict::Token => "this value is already in use",
            Conflict::Action => "an action with this name already exists",
            Conflict::ActionBound => "the action is bound to a trigger",
            Conflict::Rule => "a rule with this name already exists",
        })
    }
}

/// One page of a listing: `page` counts from 0, as Auth0's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 0.
    pub page: u32,
    /// Entries per page, at least 1.
    pub per_page: u32,
}

impl Page {
    /// The most entries one page may hold (Auth0's limit).
    pub const MAX_PER_PAGE: u32 = 100;

    /// Page `page` of `per_page` entries, `per_page` clamped to 1..=100.
    pub fn new(page: u32, per_page: u32) -> Self {
        Page {
            page,
            per_page: per_page.clamp(1, Self::MAX_PER_PAGE),
        }
    }

    /// The first page of the largest size.
    pub fn first() -> Self {
        Page::new(0, Self::MAX_PER_PAGE)
    }

    /// Rows to skip.
    pub fn offset(self) -> i64 {
        i64::from(self.page) * i64::from(self.per_page)
    }

    /// Rows to return.
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

/// What [`Store::purge_expired`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Authorization codes.
    pub codes: u64,
    /// Sessions.
    pub sessions: u64,
    /// Refresh tokens.
    pub refresh_tokens: u64,
    /// Device codes.
    pub device_codes: u64,
    /// Tickets.
    pub tickets: u64,
    /// Used client-assertion `jti`s whose assertions have expired.
    pub client_assertions: u64,
    /// Finished Management API jobs (with their export files) past their retention.
    pub jobs: u64,
    /// Tenant log events past their retention.
    pub logs: u64,
    /// Rate-limit buckets full again (a full bucket is the same as none).
    pub rate_limits: u64,
    /// Records of Actions' executions past their retention.
    pub action_executions: u64,
    /// Logins gone upstream whose callback never came.
    pub federation_transactions: u64,
    /// Mail sent or given up on (and SMS kept in the outbox), past its retention.
    pub outbox: u64,
    /// Passwordless codes past their expiry.
    pub passwordless_codes: u64,
    /// Codes mailed to email factors past their expiry.
    pub oob_codes: u64,
    /// Failed-login counters whose last failure is older than brute-force protection keeps.
    pub login_failures: u64,
}

impl Purged {
    /// Rows removed of each kind, with the kind's name (for logs and metrics).
    pub fn by_kind(&self) -> [(&'static str, u64); 15] {
        [
            ("authorization_codes", self.codes),
            ("sessions", self.sessions),
            ("refresh_tokens", self.refresh_tokens),
            ("device_codes", self.device_codes),
            ("tickets", self.tickets),
            ("client_assertions", self.client_assertions),
            ("jobs", self.jobs),
            ("logs", self.logs),
            ("rate_limits", self.rate_limits),
            ("action_executions", self.action_executions),
            ("federation_transactions", self.federation_transactions),
            ("outbox", self.outbox),
            ("passwordless_codes", self.passwordless_codes),
            ("mfa_oob_codes", self.oob_codes),
            ("login_failures", self.login_failures),
        ]
    }

    /// Rows removed in all.
    pub fn total(&self) -> u64 {
        self.by_kind().iter().map(|(_, n)| n).sum()
    }

    /// Whether some kind filled its batch of `batch` rows (so more may be left).
    pub fn any_full(&self, batch: u32) -> bool {
        self.by_kind().iter().any(|(_, n)| *n >= u64::from(batch))
    }
}

impl std::ops::AddAssign for Purged {
    fn add_assign(&mut self, other: Purged) {
        self.codes += other.codes;
        self.sessions += other.sessions;
        self.refresh_tokens += other.refresh_tokens;
        self.device_codes += other.device_codes;
        self.tickets += other.tickets;
        self.client_assertions += other.client_assertions;
        self.jobs += other.jobs;
        self.logs += other.logs;
        self.rate_limits += other.rate_limits;
        self.action_executions += other.action_executions;
        self.federation_transactions += other.federation_transactions;
        self.outbox += other.outbox;
        self.passwordless_codes += other.passwordless_codes;
        self.oob_codes += other.oob_codes;
        self.login_failures += other.login_failures;
    }
}

/// What is kept of finished records: anything older than these goes at the next purge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Tenant log events dated before this go.
    pub logs_before: UnixTime,
    /// Finished Management API jobs made before this go, with their export files.
    pub jobs_before: UnixTime,
    /// Mail queued before this goes once it was sent or given up on.
    pub mail_before: UnixTime,
}

/// Everything Sigil keeps. Implementations are cheap to clone handles on a connection pool;
/// every method is one round trip or one transaction.
pub trait Store: Send + Sync + 'static {
    // --- Tenant ---

    /// The tenant's settings; `None` before `sigil init`.
    fn tenant_settings(&self) -> impl Future<Output = Result<Option<TenantSettings>>> + Send;
    /// Stores `settings` unless the tenant has settings already, and returns what is stored:
    /// of racing first initialisations exactly one wins and all see its settings.
    fn init_tenant_settings(
        &self,
        settings: &TenantSettings,
        now: UnixTime,
    ) -> impl Future<Output = Result<TenantSettings>> + Send;
    /// Replaces the tenant's settings.
    fn put_tenant_settings(
        &self,
        settings: &TenantSettings,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Connections ---

    /// Adds a connection, enabled for `clients`, at once. [`Conflict::Connection`] if the
    /// name is taken, [`StoreError::NotFound`] if one of the clients does not exist.
    fn create_connection(
        &self,
        connection: &Connection,
        clients: &[ClientId],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The connection with this id.
    fn connection(
        &self,
        id: &ConnectionId,
    ) -> impl Future<Output = Result<Option<Connection>>> + Send;
    /// The connection with this name.
    fn connection_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Connection>>> + Send;
    /// Every connection, by name.
    fn list_connections(&self) -> impl Future<Output = Result<Vec<Connection>>> + Send;
    /// Replaces a connection's options, display name, button and metadata (name and strategy
    /// never change), and enables or disables it for clients as `clients` says
    /// ([`Store::update_connection_clients`]), at once: [`StoreError::NotFound`] for a missing
    /// connection or enabled client changes nothing.
    fn update_connection(
        &self,
        connection: &Connection,
        clients: &[(ClientId, bool)],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a connection with its users (and their sessions, tokens, …), and the identities
    /// other users have on it, at once. [`StoreError::NotFound`] if there is no such connection.
    fn delete_connection(&self, id: &ConnectionId) -> impl Future<Output = Result<()>> + Send;
    /// The clients `connection` is enabled for, by client id.
    fn connection_clients(
        &self,
        connection: &ConnectionId,
    ) -> impl Future<Output = Result<Vec<ClientId>>> + Send;
    /// Enables (`true`) or disables (`false`) `connection` for each client, at once; enabling
    /// twice or disabling what was not enabled changes nothing. [`StoreError::NotFound`] if the
    /// connection or an enabled client does not exist.
    fn update_connection_clients(
        &self,
        connection: &ConnectionId,
        changes: &[(ClientId, bool)],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Whether `connection` is enabled for `client`.
    fn connection_enabled(
        &self,
        connection: &ConnectionId,
        client: &ClientId,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// The connections enabled for `client`, by name.
    fn client_connections(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Vec<Connection>>> + Send;

    // --- Users ---

    /// Adds a user with its identities. [`Conflict::Email`] / [`Conflict::Username`] when the
    /// connection has a user with that email / username, ignoring case; decided by a unique
    /// index, so of two racing signups exactly one succeeds.
    fn create_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
    /// As [`Store::create_user`], and `queued` (an execution of an asynchronous trigger about
    /// the new user) in the same transaction: both or neither.
    fn create_user_queueing(
        &self,
        user: &User,
        queued: Option<&QueuedTrigger>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Adds many users in one transaction (imports, bulk loads), each with its second factors
    /// (an import's `mfa_factors`): each entry says whether that user was added or which
    /// unique value it collided with; one collision never stops the others.
    fn import_users(
        &self,
        users: &[(User, Vec<Authenticator>)],
    ) -> impl Future<Output = Result<Vec<std::result::Result<(), Conflict>>>> + Send;
    /// The user with this id. A linked account is no user of its own: none.
    fn user(&self, id: &UserId) -> impl Future<Output = Result<Option<User>>> + Send;
    /// The account with this id: a user, or an account linked into one (its `linked_to`
    /// names the user). For what follows an account's own credentials and address (a reset
    /// link, a verification link), which a linked account keeps.
    fn account(&self, id: &UserId) -> impl Future<Output = Result<Option<User>>> + Send;
    /// The user of `connection` with this email, ignoring case; a linked account too, whose
    /// credentials log in as its primary user.
    fn user_by_email(
        &self,
        connection: &ConnectionId,
        email: &str,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// The user of `connection` with this phone number; a linked account too.
    fn user_by_phone(
        &self,
        connection: &ConnectionId,
        phone_number: &str,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// The user of `connection` with this username, ignoring case; a linked account too.
    fn user_by_username(
        &self,
        connection: &ConnectionId,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// One page of users matching `query`, oldest first. Linked accounts are not users of
    /// their own and never listed.
    fn list_users(
        &self,
        query: &UserQuery,
        page: Page,
    ) -> impl Future<Output = Result<Vec<User>>> + Send;
    /// How many users match `query`.
    fn count_users(&self, query: &UserQuery) -> impl Future<Output = Result<u64>> + Send;
    /// Replaces a user's profile, metadata, password and flags (not identities or login
    /// counters). [`StoreError::NotFound`] if there is no such user.
    fn update_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
    /// What another identity provider said of a federated account at a login: its profile
    /// (as [`Store::update_user`]) and its own identity's (`identities[0]`) upstream tokens
    /// and their lifetime, in one transaction. [`StoreError::NotFound`] if there is no such
    /// account or identity.
    fn update_federated_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
    /// Changes a user's metadata by key ([`crate::model::user::merge_keys`]: a `null` removes
    /// the key) and `updated_at`, in one transaction that holds the user's row, so a change
    /// made meanwhile to other keys or to the rest of the user is kept.
    /// [`StoreError::NotFound`] if there is no such user.
    fn merge_user_metadata(
        &self,
        id: &UserId,
        app_metadata: &JsonObject,
        user_metadata: &JsonObject,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a user with everything that hangs off it (identities, roles, sessions, tokens,
    /// the accounts linked to it). A linked account is not a user: [`StoreError::NotFound`].
    fn delete_user(&self, id: &UserId) -> impl Future<Output = Result<()>> + Send;
    /// Links the account `secondary` into the user `primary` (Auth0's account linking), in one
    /// transaction that holds both rows: the secondary stops being a user of its own (its
    /// metadata, roles, permissions, consents, sessions, codes and refresh tokens go), its
    /// identity joins the primary's, and its credentials log in as the primary from now on.
    /// Linking never chains: a linked account cannot be linked to, nor be linked again, and an
    /// account with accounts linked to it cannot be linked.
    fn link_user(
        &self,
        primary: &UserId,
        secondary: &UserId,
        now: UnixTime,
    ) -> impl Future<Output = Result<std::result::Result<(), LinkRefusal>>> + Send;
    /// Unlinks the account whose identity is `provider`/`identity_id` from `primary`: it is a
    /// user of its own again, without metadata. Returns its user id; none when no such
    /// identity is linked to `primary`.
    fn unlink_user(
        &self,
        primary: &UserId,
        provider: &str,
        identity_id: &str,
    ) -> impl Future<Output = Result<Option<UserId>>> + Send;
    /// Records a successful login: `logins_count + 1`, `last_login`, `last_ip`, atomically.
    fn record_login(
        &self,
        id: &UserId,
        ip: Option<&str>,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets a user's password (a reset): the hash, `last_password_reset` and `updated_at`, and
    /// nothing else, in one statement, so a change made meanwhile to the rest of the user is
    /// kept. [`StoreError::NotFound`] if there is no such user.
    fn set_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Marks a user's email verified (and `updated_at`), and nothing else, in one statement.
    /// [`StoreError::NotFound`] if there is no such user.
    fn mark_email_verified(
        &self,
        id: &UserId,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Replaces the user's password hash with `new` only while it is still `old`, in one
    /// statement (a password changed meanwhile is never overwritten by a login's re-hash).
    /// Returns whether it was replaced.
    fn upgrade_password(
        &self,
        id: &UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> impl Future<Output = Result<bool>> + Send;

    // --- Clients ---

    /// Adds a client, enabled for every database connection (so a new application can log
    /// users in with a password, as before connections had clients).
    fn create_client(&self, client: &Client) -> impl Future<Output = Result<()>> + Send;
    /// The client with this id.
    fn client(&self, id: &ClientId) -> impl Future<Output = Result<Option<Client>>> + Send;
    /// One page of clients, oldest first.
    fn list_clients(&self, page: Page) -> impl Future<Output = Result<Vec<Client>>> + Send;
    /// Replaces a client (secret included).
    fn update_client(&self, client: &Client) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a client with its grants, codes and tokens.
    fn delete_client(&self, id: &ClientId) -> impl Future<Output = Result<()>> + Send;
    /// Every origin some client lists in `web_origins` or `allowed_origins`, each once, sorted:
    /// the origins browsers may call the token, revocation and userinfo endpoints from. One
    /// query, reading only the clients' settings.
    fn client_origins(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    // --- Client assertions (private_key_jwt) ---

    /// Records that `client` used an assertion with this `jti`, which is accepted until
    /// `expires_at` (RFC 7523 §3 item 7): [`StoreError::AlreadyUsed`] if the client used the
    /// same `jti` in an assertion still accepted at `now`. Insert-if-absent in one statement, so
    /// of racing presentations of one assertion exactly one succeeds; the record of an expired
    /// assertion is replaced. [`StoreError::NotFound`] if the client does not exist.
    fn record_client_assertion(
        &self,
        client: &ClientId,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Resource servers ---

    /// Adds an API. [`Conflict::ResourceServer`] if the identifier is taken.
    fn create_resource_server(
        &self,
        api: &ResourceServer,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The API with this id.
    fn resource_server(
        &self,
        id: &ResourceServerId,
    ) -> impl Future<Output = Result<Option<ResourceServer>>> + Send;
    /// The API with this identifier (audience).
    fn resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<ResourceServer>>> + Send;
    /// One page of APIs, oldest first.
    fn list_resource_servers(
        &self,
        page: Page,
    ) -> impl Future<Output = Result<Vec<ResourceServer>>> + Send;
    /// Replaces an API (the identifier never changes).
    fn update_resource_server(
        &self,
        api: &ResourceServer,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes an API with its client grants, role and user permissions.
    fn delete_resource_server(
        &self,
        id: &ResourceServerId,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Client grants ---

    /// Adds a grant. [`Conflict::ClientGrant`] if the client has one for this API;
    /// [`StoreError::NotFound`] if the client or API does not exist.
    fn create_client_grant(&self, grant: &ClientGrant) -> impl Future<Output = Result<()>> + Send;
    /// The grant with this id.
    fn client_grant(
        &self,
        id: &ClientGrantId,
    ) -> impl Future<Output = Result<Option<ClientGrant>>> + Send;
    /// The grant of `client` for `audience`: the client-credentials hot path.
    fn client_grant_for(
        &self,
        client: &ClientId,
        audience: &str,
    ) -> impl Future<Output = Result<Option<ClientGrant>>> + Send;
    /// Grants, optionally only one client's or one API's, oldest first.
    fn list_client_grants(
        &self,
        client: Option<&ClientId>,
        audience: Option<&str>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<ClientGrant>>> + Send;
    /// Replaces a grant's scopes.
    fn update_client_grant(
        &self,
        id: &ClientGrantId,
        scope: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a grant.
    fn delete_client_grant(&self, id: &ClientGrantId) -> impl Future<Output = Result<()>> + Send;

    // --- Roles and permissions ---

    /// Adds a role. [`Conflict::Role`] if the name is taken.
    fn create_role(&self, role: &Role) -> impl Future<Output = Result<()>> + Send;
    /// The role with this id.
    fn role(&self, id: &RoleId) -> impl Future<Output = Result<Option<Role>>> + Send;
    /// One page of roles, by name.
    fn list_roles(&self, page: Page) -> impl Future<Output = Result<Vec<Role>>> + Send;
    /// Replaces a role's name and description.
    fn update_role(&self, role: &Role) -> impl Future<Output = Result<()>> + Send;
    /// Records a finished Management API job. Ids are generated unique, so no conflict is
    /// expected.
    fn create_job(&self, job: &Job) -> impl Future<Output = Result<()>> + Send;
    /// The job with this id.
    fn job(&self, id: &JobId) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// Deletes a role; its users lose what it gave them.
    fn delete_role(&self, id: &RoleId) -> impl Future<Output = Result<()>> + Send;
    /// Adds permissions to a role (already present ones are kept).
    fn add_role_permissions(
        &self,
        role: &RoleId,
        permissions: &[Permission],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Removes permissions from a role.
    fn remove_role_permissions(
        &self,
        role: &RoleId,
        permissions: &[Permission],
    ) -> impl Future<Output = Result<()>> + Send;
    /// A role's permissions, sorted.
    fn role_permissions(
        &self,
        role: &RoleId,
    ) -> impl Future<Output = Result<Vec<Permission>>> + Send;
    /// Gives a user roles (already held ones are kept).
    fn assign_user_roles(
        &self,
        user: &UserId,
        roles: &[RoleId],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes roles from a user.
    fn remove_user_roles(
        &self,
        user: &UserId,
        roles: &[RoleId],
    ) -> impl Future<Output = Result<()>> + Send;
    /// A user's roles, by name.
    fn user_roles(&self, user: &UserId) -> impl Future<Output = Result<Vec<Role>>> + Send;
    /// One page of the users holding a role.
    fn role_users(
        &self,
        role: &RoleId,
        page: Page,
    ) -> impl Future<Output = Result<Vec<UserId>>> + Send;
    /// Gives a user permissions directly.
    fn add_user_permissions(
        &self,
        user: &UserId,
        permissions: &[Permission],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes direct permissions from a user.
    fn remove_user_permissions(
        &self,
        user: &UserId,
        permissions: &[Permission],
    ) -> impl Future<Output = Result<()>> + Send;
    /// A user's direct permissions, sorted.
    fn user_permissions(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<Permission>>> + Send;
    /// The scopes of `audience` a user holds directly or through roles, sorted, in one query:
    /// what an RBAC access token may carry.
    fn effective_permissions(
        &self,
        user: &UserId,
        audience: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    // --- Consents ---

    /// Records a user's consent, replacing the scopes of an earlier one for the same user,
    /// client and API (whose id and creation time are kept). Returns what is stored.
    fn put_consent(&self, consent: &Consent) -> impl Future<Output = Result<Consent>> + Send;
    /// The user's consent to `client` for `audience`.
    fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
        audience: &str,
    ) -> impl Future<Output = Result<Option<Consent>>> + Send;
    /// Consents, optionally only one user's or one client's.
    fn list_consents(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<Consent>>> + Send;
    /// Withdraws a consent.
    fn delete_consent(&self, id: &ConsentId) -> impl Future<Output = Result<()>> + Send;

    // --- Actions ---

    /// Stores a new Action. [`Conflict::Action`] when its name is taken.
    fn create_action(&self, action: &Action) -> impl Future<Output = Result<()>> + Send;
    /// The Action with this id.
    fn action(&self, id: &ActionId) -> impl Future<Output = Result<Option<Action>>> + Send;
    /// Every Action, by name.
    fn list_actions(&self) -> impl Future<Output = Result<Vec<Action>>> + Send;
    /// Replaces an Action's name, draft and `updated_at`. [`StoreError::NotFound`] if there is
    /// no such Action, [`Conflict::Action`] when the name is taken.
    fn update_action(&self, action: &Action) -> impl Future<Output = Result<()>> + Send;
    /// Deletes an Action and its versions. A bound Action is refused with
    /// [`Conflict::ActionBound`] unless `detach`, which removes its bindings in the same
    /// transaction. [`StoreError::NotFound`] if there is no such Action.
    fn delete_action(&self, id: &ActionId, detach: bool)
    -> impl Future<Output = Result<()>> + Send;
    /// Deploys `code` as the Action's next version `version`, in one transaction: numbered
    /// after its last one, the only one deployed, and the Action's `deployed_at` set to `now`.
    /// [`StoreError::NotFound`] if there is no such Action.
    fn deploy_action(
        &self,
        id: &ActionId,
        version: &ActionVersionId,
        code: &ActionCode,
        now: UnixTime,
    ) -> impl Future<Output = Result<ActionVersion>> + Send;
    /// The Action's versions, newest first.
    fn action_versions(
        &self,
        id: &ActionId,
    ) -> impl Future<Output = Result<Vec<ActionVersion>>> + Send;
    /// The trigger's bindings, in order.
    fn bindings(&self, trigger: &str) -> impl Future<Output = Result<Vec<Binding>>> + Send;
    /// Replaces the trigger's bindings with `bindings`, in their order, in one transaction.
    /// [`StoreError::NotFound`] ("deployed action") when one names an Action that does not
    /// exist or has no deployed version: nothing is changed then.
    fn replace_bindings(
        &self,
        trigger: &str,
        bindings: &[Binding],
    ) -> impl Future<Output = Result<()>> + Send;
    /// What a trigger runs: the deployed version of each bound Action, in binding order.
    fn bound_actions(&self, trigger: &str)
    -> impl Future<Output = Result<Vec<BoundAction>>> + Send;
    /// Queues an execution of an asynchronous trigger.
    fn queue_trigger(&self, queued: &QueuedTrigger) -> impl Future<Output = Result<()>> + Send;
    /// Takes up to `limit` queued executions due at `now`, oldest due first, for this caller:
    /// each one's attempts go up by one and it is not due again before `lease_until` (so that
    /// another node does not take it meanwhile), in one statement.
    fn claim_queued_triggers(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<QueuedTrigger>>> + Send;
    /// Stores a new Rule. [`StoreError::Conflict`] when its name is taken.
    fn create_rule(&self, rule: &Rule) -> impl Future<Output = Result<()>> + Send;
    /// The Rule with this id.
    fn rule(&self, id: &RuleId) -> impl Future<Output = Result<Option<Rule>>> + Send;
    /// Every Rule, in `order`, then by name.
    fn list_rules(&self) -> impl Future<Output = Result<Vec<Rule>>> + Send;
    /// Replaces a Rule. [`StoreError::NotFound`] when it is gone, [`StoreError::Conflict`]
    /// when its new name is taken.
    fn update_rule(&self, rule: &Rule) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a Rule; whether there was one.
    fn delete_rule(&self, id: &RuleId) -> impl Future<Output = Result<bool>> + Send;
    /// Every rules-config, by key.
    fn rules_configs(&self) -> impl Future<Output = Result<Vec<RulesConfig>>> + Send;
    /// Sets a rules-config (sealed at rest).
    fn put_rules_config(&self, config: &RulesConfig) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a rules-config; whether there was one.
    fn delete_rules_config(&self, key: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Keeps the records of executions, in one transaction.
    fn record_executions(
        &self,
        executions: &[ActionExecution],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The execution with this id, while it is kept.
    fn action_execution(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ActionExecution>>> + Send;
    /// Settles a claimed execution: gone from the queue (it ran, or will not be tried again),
    /// or due again at `retry_at`.
    fn settle_queued_trigger(
        &self,
        id: &str,
        retry_at: Option<UnixTime>,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Sessions ---

    /// Starts a session.
    fn create_session(&self, session: &Session) -> impl Future<Output = Result<()>> + Send;
    /// The session with this id.
    fn session(&self, id: &SessionId) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// The session whose cookie has this digest.
    fn session_by_cookie(
        &self,
        cookie: &SecretDigest,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// Marks a session used: `last_seen_at`, a new idle end, and `client` added to its
    /// applications.
    fn touch_session(
        &self,
        id: &SessionId,
        now: UnixTime,
        idle_expires_at: UnixTime,
        client: Option<&ClientId>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Records that the user of a session completed the authentication method `name` at
    /// `at` (again: the time moves on). A session that has ended records nothing.
    fn record_session_method(
        &self,
        id: &SessionId,
        name: &str,
        at: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The methods a session recorded, oldest first.
    fn session_methods(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Vec<(String, UnixTime)>>> + Send;
    /// Ends a session.
    fn delete_session(&self, id: &SessionId) -> impl Future<Output = Result<()>> + Send;
    /// Ends every session of a user; returns how many.
    fn delete_user_sessions(&self, user: &UserId) -> impl Future<Output = Result<u64>> + Send;

    // --- Authorization codes ---

    /// Stores a new code.
    fn create_code(&self, code: &AuthorizationCode) -> impl Future<Output = Result<()>> + Send;
    /// Redeems a code exactly once: of any number of concurrent attempts one gets the code and
    /// the rest [`StoreError::AlreadyUsed`]; [`StoreError::Expired`] after its lifetime.
    fn redeem_code(
        &self,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> impl Future<Output = Result<AuthorizationCode>> + Send;

    // --- Refresh tokens ---

    /// Stores a new refresh token.
    fn create_refresh_token(&self, token: &RefreshToken)
    -> impl Future<Output = Result<()>> + Send;
    /// The refresh token with this digest, whatever its state.
    fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = Result<Option<RefreshToken>>> + Send;
    /// Rotates: marks `old` used and stores `new`, in one transaction, only if `old` is unused,
    /// unrevoked and unexpired. One winner among concurrent rotations; the others get
    /// [`StoreError::AlreadyUsed`] (or `Revoked`, `Expired`, `NotFound`). Returns `old` as it
    /// was before (unused).
    fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        new: &RefreshToken,
        now: UnixTime,
    ) -> impl Future<Output = Result<RefreshToken>> + Send;
    /// Extends a non-rotating token's idle end.
    fn touch_refresh_token(
        &self,
        digest: &SecretDigest,
        idle_expires_at: Option<UnixTime>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Revokes one token; false if it did not exist or was revoked already.
    fn revoke_refresh_token(
        &self,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Revokes every token of a family (reuse detected); returns how many were not revoked
    /// before (used ones included).
    fn revoke_refresh_family(
        &self,
        family: &FamilyId,
        now: UnixTime,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Revokes a user's tokens, optionally for one client only; returns how many were not
    /// revoked before (used ones included).
    fn revoke_user_refresh_tokens(
        &self,
        user: &UserId,
        client: Option<&ClientId>,
        now: UnixTime,
    ) -> impl Future<Output = Result<u64>> + Send;

    // --- Device codes (RFC 8628) ---

    /// Stores a new device authorization. [`Conflict::Token`] if the user code is taken.
    fn create_device_code(&self, code: &DeviceCode) -> impl Future<Output = Result<()>> + Send;
    /// The authorization a user code names.
    fn device_code_by_user_code(
        &self,
        user_code: &str,
    ) -> impl Future<Output = Result<Option<DeviceCode>>> + Send;
    /// Records the user's decision, once, while pending and unexpired.
    fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceStatus,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A device's poll: returns the authorization as it was before this poll and records the
    /// poll time. An approved one is consumed by the first poll that sees it (the returned
    /// record has `consumed_at: None` only for that poll); later polls get
    /// [`StoreError::AlreadyUsed`].
    fn poll_device_code(
        &self,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> impl Future<Output = Result<DeviceCode>> + Send;

    // --- Tickets ---

    /// Stores a new ticket.
    fn create_ticket(&self, ticket: &Ticket) -> impl Future<Output = Result<()>> + Send;
    /// Keeps a login gone upstream until its callback.
    fn create_federation_transaction(
        &self,
        transaction: &FederationTransaction,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes the login gone upstream with `state_digest`, once: only for the browser whose
    /// binding cookie has `binding_digest` (another browser's try leaves it for its own) and
    /// before it expires. Of racing takers one gets it; the others get `None`, as for a
    /// transaction that never was.
    fn take_federation_transaction(
        &self,
        state_digest: &SecretDigest,
        binding_digest: &SecretDigest,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<FederationTransaction>>> + Send;

    /// The ticket with this digest, without using it.
    fn ticket(&self, digest: &SecretDigest) -> impl Future<Output = Result<Option<Ticket>>> + Send;
    /// Uses a ticket of `kind` exactly once. A ticket of another kind is
    /// [`StoreError::NotFound`].
    fn consume_ticket(
        &self,
        digest: &SecretDigest,
        kind: TicketKind,
        now: UnixTime,
    ) -> impl Future<Output = Result<Ticket>> + Send;

    // --- Passwordless codes ---

    /// Stores `code` as the only live code of its connection and recipient: a new one replaces
    /// the last (Auth0's "only the latest code or link is valid"), its tries starting at 0.
    fn put_passwordless_code(
        &self,
        code: &PasswordlessCode,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Reserves one try at the live code of `connection` and `recipient`, in one statement
    /// that counts the try only while the code is unexpired at `now` and has had fewer than
    /// `max_attempts` tries; answers the code (its tries counting this one), or none. So
    /// racing guesses, on one node or several, never get more than `max_attempts` tries
    /// between them.
    fn try_passwordless_code(
        &self,
        connection: &ConnectionId,
        recipient: &str,
        now: UnixTime,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Option<PasswordlessCode>>> + Send;
    /// Uses the code up: deletes it while it still has `digest` (a newer code is kept);
    /// `true` for the one caller that did.
    fn consume_passwordless_code(
        &self,
        connection: &ConnectionId,
        recipient: &str,
        digest: &[u8; 32],
    ) -> impl Future<Output = Result<bool>> + Send;

    // --- Brute-force protection ---

    /// Reserves one login attempt on `counter` before its password is checked, in one
    /// statement: counted while the counter has fewer than `max` failures (a counter whose
    /// last failure is at or before `forget_before` starts again at one), refused otherwise.
    /// Answers the count with this attempt, or `None` when refused: racing attempts, on one
    /// node or several, never get more than `max` between them.
    fn reserve_login_attempt(
        &self,
        counter: &LoginCounter,
        max: u32,
        now: UnixTime,
        forget_before: UnixTime,
    ) -> impl Future<Output = Result<Option<u32>>> + Send;
    /// Gives back an attempt reserved on `counter` whose password could not be checked (the
    /// workers were busy, the store failed): it counts as no failure.
    fn release_login_attempt(
        &self,
        counter: &LoginCounter,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Forgets the failures of `identifier` (in `connection` when given; from `ip` when given,
    /// else from every address); answers how many counters were removed.
    fn clear_login_failures(
        &self,
        connection: Option<&ConnectionId>,
        identifier: &str,
        ip: Option<&str>,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// The counters of `identifiers` with at least `min` failures, the last after `since`.
    fn login_failures(
        &self,
        identifiers: &[String],
        min: u32,
        since: UnixTime,
    ) -> impl Future<Output = Result<Vec<LoginFailures>>> + Send;

    // --- Multi-factor authenticators ---

    /// Stores `authenticator`, a user's new enrolment (pending, or confirmed when an
    /// administrator or an import gives it). It replaces a pending enrolment of the same kind;
    /// a confirmed one of that kind is [`Conflict::Authenticator`] (at most one of each kind).
    fn put_authenticator(
        &self,
        authenticator: &Authenticator,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The user's authenticators, pending ones included, secrets opened.
    fn authenticators(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<Authenticator>>> + Send;
    /// The authenticator `id`, whoever's it is (secret opened).
    fn authenticator(&self, id: &str)
    -> impl Future<Output = Result<Option<Authenticator>>> + Send;
    /// Confirms the pending enrolment `id` of `user` at `now`; `true` for the one caller that
    /// did.
    fn confirm_authenticator(
        &self,
        user: &UserId,
        id: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Takes TOTP step `step` of the authenticator `id`: only when it is later than every step
    /// taken before, in one conditional `UPDATE`, so a code is accepted once however many
    /// racing requests carry it; `true` when this call took it (its `last_auth_at` is `now`).
    fn take_totp_step(
        &self,
        id: &str,
        step: i64,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Replaces the user's recovery code with `new` (confirmed at `now`): when `old` is given,
    /// only while the stored code is still `old` (using it up once: `true` for the one caller
    /// that did), else whatever it was (made when there was none).
    fn replace_recovery_code(
        &self,
        user: &UserId,
        id: &str,
        old: Option<&SecretDigest>,
        new: &SecretDigest,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Deletes the authenticator `id` of `user`; `true` when there was one.
    fn delete_authenticator(
        &self,
        user: &UserId,
        id: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Keeps `code`, just mailed to an email factor.
    fn put_oob_code(&self, code: &OobCode) -> impl Future<Output = Result<()>> + Send;
    /// The code whose `oob_code` has the digest `digest`, while it is unexpired at `now`.
    fn oob_code(
        &self,
        digest: &[u8; 32],
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<OobCode>>> + Send;
    /// Uses the code up: deletes it while its binding MAC is `binding`; `true` for the one
    /// caller that did.
    fn consume_oob_code(
        &self,
        digest: &[u8; 32],
        binding: &[u8; 32],
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Deletes every authenticator of `user` and forgets the browsers they were remembered
    /// in (Auth0's "reset MFA"), in one transaction; returns how many were deleted.
    fn delete_authenticators(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Forgets every browser where `user` asked to be remembered: a remember-browser cookie
    /// issued before `now` no longer skips the second factor.
    fn forget_browsers(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// When the user's remembered browsers were last forgotten and last used, if ever.
    fn remembered_browsers(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<BrowserMemory>> + Send;
    /// Records that a remembered browser of `user` skipped the second factor at `now`.
    fn remembered_browser_used(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Signing keys ---

    /// Stores a key (sealed). [`Conflict::SigningKey`] for a taken kid, or a second current or
    /// second next key in the key's family ([`SigningKeyRecord::family`]): keys of another
    /// family do not count.
    fn create_signing_key(&self, key: &SigningKeyRecord)
    -> impl Future<Output = Result<()>> + Send;
    /// Every key of every family, revoked ones included, oldest first.
    fn signing_keys(&self) -> impl Future<Output = Result<Vec<SigningKeyRecord>>> + Send;
    /// Rotates `next`'s family, in one transaction: its current key becomes previous, its next
    /// key (if any) becomes current, and `next` is stored as the new next key. With no next key
    /// waiting, `next` is stored as current directly. Other families are untouched, and
    /// rotations of different families never conflict; of racing rotations of one family, the
    /// losers get [`Conflict::SigningKey`] and change nothing.
    fn rotate_signing_keys(
        &self,
        next: &SigningKeyRecord,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Revokes a previous (or next) key. The current key cannot be revoked: asking is
    /// [`StoreError::NotFound`], as for an unknown or already revoked kid.
    fn revoke_signing_key(
        &self,
        kid: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Logs ---

    /// Appends an event; returns its id.
    fn append_log(&self, event: &NewLogEvent) -> impl Future<Output = Result<LogId>> + Send;
    /// Appends events in one transaction; returns their ids in order. Ids become visible in
    /// the order they are given out, whatever the concurrency, so a reader of
    /// [`Store::logs_from`] never passes an event that commits later.
    fn append_logs(
        &self,
        events: &[NewLogEvent],
    ) -> impl Future<Output = Result<Vec<LogId>>> + Send;
    /// The event with this id.
    fn log(&self, id: &LogId) -> impl Future<Output = Result<Option<LogEvent>>> + Send;
    /// One page of events matching `query`, newest first.
    fn list_logs(
        &self,
        query: &LogQuery,
        page: Page,
    ) -> impl Future<Output = Result<Vec<LogEvent>>> + Send;
    /// Up to `take` events after `from` (or from the oldest), oldest first: checkpoint paging.
    fn logs_from(
        &self,
        query: &LogQuery,
        from: Option<&LogId>,
        take: u32,
    ) -> impl Future<Output = Result<Vec<LogEvent>>> + Send;
    /// How many events match `query`.
    fn count_logs(&self, query: &LogQuery) -> impl Future<Output = Result<u64>> + Send;

    // --- Outbox ---

    /// Queues a message (its body sealed at rest).
    fn queue_email(&self, email: &OutgoingEmail) -> impl Future<Output = Result<()>> + Send;
    /// The outbox's messages with their delivery state, newest first, optionally only to one
    /// recipient.
    fn outbox(
        &self,
        recipient: Option<&str>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>>> + Send;

    /// How many messages wait to be delivered (queued or being sent).
    fn count_outbox(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Leases up to `limit` due messages to the caller, oldest first, in one statement (two
    /// workers never take the same message): queued ones whose next attempt is due at `now`,
    /// and ones whose lease ran out. Each is marked `sending` under `lease` until
    /// `now + mail::LEASE`, its attempts counted up.
    fn claim_emails(
        &self,
        now: UnixTime,
        lease: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ClaimedEmail>>> + Send;

    /// Records how the attempt on message `id` ended, only if it is still leased under
    /// `lease`; `false` when the lease had run out and another worker took it.
    fn record_delivery(
        &self,
        id: i64,
        lease: &str,
        delivered: &Delivered,
    ) -> impl Future<Output = Result<bool>> + Send;

    // --- Mail provider ---

    /// The mail provider `/emails/provider` configured, if any (its password opened).
    fn email_provider(&self) -> impl Future<Output = Result<Option<EmailProvider>>> + Send;

    /// Stores the mail provider, replacing any (its password sealed).
    fn put_email_provider(
        &self,
        provider: &EmailProvider,
        now: UnixTime,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Removes the mail provider; `false` when there was none.
    fn delete_email_provider(&self) -> impl Future<Output = Result<bool>> + Send;

    // --- Email templates ---

    /// The template the tenant set for `name`, if any.
    fn email_template(
        &self,
        name: TemplateName,
    ) -> impl Future<Output = Result<Option<EmailTemplate>>> + Send;

    /// Stores `template`: with `create`, only if none of its name exists (`false` then);
    /// otherwise replacing any.
    fn put_email_template(
        &self,
        template: &EmailTemplate,
        create: bool,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The connection pool's state now: connections open, and of those idle (for metrics).
    fn connections(&self) -> (u32, u32);

    // --- Rate limits ---

    /// Takes one request from the bucket `key` of shape `limit` at `now_ms` (Unix
    /// milliseconds), as [`crate::rate_limit`] describes: let through and counted when the
    /// bucket is not empty, refused (and nothing written) otherwise. One conditional upsert, so
    /// racing callers on any number of nodes never let more through than the bucket holds.
    fn take_rate_limit(
        &self,
        key: &str,
        limit: crate::rate_limit::RateLimit,
        now_ms: i64,
    ) -> impl Future<Output = Result<crate::rate_limit::RateTaken>> + Send;

    /// Gives back one request taken from the bucket `key` of shape `limit` (an attempt that
    /// turned out not to count: a successful login): the bucket's full time moves one interval
    /// earlier, in one `UPDATE`. A bucket already full, or missing, is left as it is.
    fn give_back_rate_limit(
        &self,
        key: &str,
        limit: crate::rate_limit::RateLimit,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- Housekeeping ---

    /// Deletes at most `batch` rows of each kind that expired by `now` (codes, sessions,
    /// refresh tokens, device codes, tickets, client-assertion `jti`s) or are past
    /// `retention` (jobs, log events), so no single call holds locks for long; call again
    /// while it reports a full batch. Concurrent calls (several nodes) are harmless.
    fn purge_expired(
        &self,
        now: UnixTime,
        retention: &Retention,
        batch: u32,
    ) -> impl Future<Output = Result<Purged>> + Send;
}
