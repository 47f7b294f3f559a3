//! [`SqlStore`]: the [`Store`] contract on SQLite or PostgreSQL. This file is the table of
//! contents: each operation lives in the module named after its domain noun, with SQL written
//! once for both backends wherever they agree (`on_pool!`) and split only where they differ.

use std::sync::Arc;

use sigil_core::ids::{
    ActionId, ActionVersionId, ClientGrantId, ClientId, ConnectionId, ConsentId, FamilyId, JobId,
    LogId, ResourceServerId, RoleId, RuleId, SessionId, UserId,
};
use sigil_core::model::{
    Action, ActionCode, ActionExecution, ActionVersion, Authenticator, AuthorizationCode, Binding,
    BoundAction, BrowserMemory, ClaimedEmail, Client, ClientGrant, Connection, Consent, Delivered,
    DeviceCode, DeviceStatus, EmailProvider, EmailTemplate, FederationTransaction, Job, JsonObject,
    LogEvent, LogQuery, LoginCounter, LoginFailures, NewLogEvent, OobCode, OutboxEntry,
    OutgoingEmail, PasswordlessCode, Permission, QueuedTrigger, RefreshToken, ResourceServer, Role,
    Rule, RulesConfig, Session, SigningKeyRecord, TemplateName, TenantSettings, Ticket, TicketKind,
    User, UserQuery,
};
use sigil_core::password::PasswordHash;
use sigil_core::secret::SecretDigest;
use sigil_core::store::{Page, Purged, Result, Retention};
use sigil_core::{LinkRefusal, Store, StoreError, UnixTime};

use crate::{
    Database, DatabaseError, MasterKey, actions, apis, client_assertions, clients, codes,
    connections, device, federation, jobs, keys, login_failures, logs, mfa, outbox, passwordless,
    purge, rate_limits, rbac, refresh, rules, sessions, tenant, tickets, users,
};

/// Sigil's store on an open, migrated database whose master key has been checked.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub(crate) db: Database,
    pub(crate) key: Arc<MasterKey>,
}

impl SqlStore {
    /// Checks that `db` has this build's schema and that `key` is the master key it was set up
    /// with (recording it if the database has none yet), then wraps it.
    pub async fn open(
        db: Database,
        key: MasterKey,
        now: UnixTime,
    ) -> std::result::Result<Self, DatabaseError> {
        db.check_schema().await?;
        db.check_master_key(&key, now.0).await?;
        Ok(SqlStore {
            db,
            key: Arc::new(key),
        })
    }

    /// A key derived from the master key for `purpose` (the same on every node sharing the
    /// database and its master key), for secrets the server needs that are not stored.
    pub fn derived_key(&self, purpose: &str) -> zeroize::Zeroizing<[u8; 32]> {
        self.key.derive(purpose)
    }

    /// The database underneath.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

impl Store for SqlStore {
    async fn tenant_settings(&self) -> Result<Option<TenantSettings>> {
        tenant::tenant_settings(self).await
    }

    async fn init_tenant_settings(
        &self,
        settings: &TenantSettings,
        now: UnixTime,
    ) -> Result<TenantSettings> {
        tenant::init_tenant_settings(self, settings, now).await
    }

    async fn put_tenant_settings(&self, settings: &TenantSettings, now: UnixTime) -> Result<()> {
        tenant::put_tenant_settings(self, settings, now).await
    }

    async fn create_connection(&self, connection: &Connection, clients: &[ClientId]) -> Result<()> {
        connections::create_connection(self, connection, clients).await
    }

    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>> {
        connections::connection(self, id).await
    }

    async fn connection_by_name(&self, name: &str) -> Result<Option<Connection>> {
        connections::connection_by_name(self, name).await
    }

    async fn list_connections(&self) -> Result<Vec<Connection>> {
        connections::list_connections(self).await
    }

    async fn update_connection(
        &self,
        connection: &Connection,
        clients: &[(ClientId, bool)],
    ) -> Result<()> {
        connections::update_connection(self, connection, clients).await
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<()> {
        connections::delete_connection(self, id).await
    }

    async fn connection_clients(&self, connection: &ConnectionId) -> Result<Vec<ClientId>> {
        connections::connection_clients(self, connection).await
    }

    async fn update_connection_clients(
        &self,
        connection: &ConnectionId,
        changes: &[(ClientId, bool)],
    ) -> Result<()> {
        connections::update_connection_clients(self, connection, changes).await
    }

    async fn connection_enabled(
        &self,
        connection: &ConnectionId,
        client: &ClientId,
    ) -> Result<bool> {
        connections::connection_enabled(self, connection, client).await
    }

    async fn client_connections(&self, client: &ClientId) -> Result<Vec<Connection>> {
        connections::client_connections(self, client).await
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        users::create_user(self, user, None).await
    }

    async fn create_user_queueing(
        &self,
        user: &User,
        queued: Option<&QueuedTrigger>,
    ) -> Result<()> {
        users::create_user(self, user, queued).await
    }

    async fn import_users(
        &self,
        users: &[(User, Vec<Authenticator>)],
    ) -> Result<Vec<std::result::Result<(), sigil_core::Conflict>>> {
        users::import(self, users).await
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>> {
        users::user(self, id).await
    }

    async fn account(&self, id: &UserId) -> Result<Option<User>> {
        users::account(self, id).await
    }

    async fn user_by_email(&self, connection: &ConnectionId, email: &str) -> Result<Option<User>> {
        users::user_by_email(self, connection, email).await
    }

    async fn user_by_phone(
        &self,
        connection: &ConnectionId,
        phone_number: &str,
    ) -> Result<Option<User>> {
        users::user_by_phone(self, connection, phone_number).await
    }

    async fn user_by_username(
        &self,
        connection: &ConnectionId,
        username: &str,
    ) -> Result<Option<User>> {
        users::user_by_username(self, connection, username).await
    }

    async fn list_users(&self, query: &UserQuery, page: Page) -> Result<Vec<User>> {
        users::list_users(self, query, page).await
    }

    async fn count_users(&self, query: &UserQuery) -> Result<u64> {
        users::count_users(self, query).await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        users::update_user(self, user).await
    }

    async fn update_federated_user(&self, user: &User) -> Result<()> {
        users::update_federated_user(self, user).await
    }

    async fn delete_user(&self, id: &UserId) -> Result<()> {
        users::delete_user(self, id).await
    }

    async fn link_user(
        &self,
        primary: &UserId,
        secondary: &UserId,
        now: UnixTime,
    ) -> Result<std::result::Result<(), LinkRefusal>> {
        users::link_user(self, primary, secondary, now).await
    }

    async fn unlink_user(
        &self,
        primary: &UserId,
        provider: &str,
        identity_id: &str,
    ) -> Result<Option<UserId>> {
        users::unlink_user(self, primary, provider, identity_id).await
    }

    async fn record_login(&self, id: &UserId, ip: Option<&str>, now: UnixTime) -> Result<()> {
        users::record_login(self, id, ip, now).await
    }

    async fn set_password(&self, id: &UserId, hash: &PasswordHash, now: UnixTime) -> Result<()> {
        users::set_password(self, id, hash, now).await
    }

    async fn mark_email_verified(&self, id: &UserId, now: UnixTime) -> Result<()> {
        users::mark_email_verified(self, id, now).await
    }

    async fn upgrade_password(
        &self,
        id: &UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool> {
        users::upgrade_password(self, id, old, new).await
    }

    async fn create_client(&self, client: &Client) -> Result<()> {
        clients::create_client(self, client).await
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>> {
        clients::client(self, id).await
    }

    async fn list_clients(&self, page: Page) -> Result<Vec<Client>> {
        clients::list_clients(self, page).await
    }

    async fn update_client(&self, client: &Client) -> Result<()> {
        clients::update_client(self, client).await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<()> {
        clients::delete_client(self, id).await
    }

    async fn client_origins(&self) -> Result<Vec<String>> {
        clients::client_origins(self).await
    }

    async fn record_client_assertion(
        &self,
        client: &ClientId,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        client_assertions::record_client_assertion(self, client, jti, expires_at, now).await
    }

    async fn create_resource_server(&self, api: &ResourceServer) -> Result<()> {
        apis::create_resource_server(self, api).await
    }

    async fn resource_server(&self, id: &ResourceServerId) -> Result<Option<ResourceServer>> {
        apis::resource_server(self, id).await
    }

    async fn resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<ResourceServer>> {
        apis::resource_server_by_identifier(self, identifier).await
    }

    async fn list_resource_servers(&self, page: Page) -> Result<Vec<ResourceServer>> {
        apis::list_resource_servers(self, page).await
    }

    async fn update_resource_server(&self, api: &ResourceServer) -> Result<()> {
        apis::update_resource_server(self, api).await
    }

    async fn delete_resource_server(&self, id: &ResourceServerId) -> Result<()> {
        apis::delete_resource_server(self, id).await
    }

    async fn create_client_grant(&self, grant: &ClientGrant) -> Result<()> {
        apis::create_client_grant(self, grant).await
    }

    async fn client_grant(&self, id: &ClientGrantId) -> Result<Option<ClientGrant>> {
        apis::client_grant(self, id).await
    }

    async fn client_grant_for(
        &self,
        client: &ClientId,
        audience: &str,
    ) -> Result<Option<ClientGrant>> {
        apis::client_grant_for(self, client, audience).await
    }

    async fn list_client_grants(
        &self,
        client: Option<&ClientId>,
        audience: Option<&str>,
        page: Page,
    ) -> Result<Vec<ClientGrant>> {
        apis::list_client_grants(self, client, audience, page).await
    }

    async fn update_client_grant(&self, id: &ClientGrantId, scope: &[String]) -> Result<()> {
        apis::update_client_grant(self, id, scope).await
    }

    async fn delete_client_grant(&self, id: &ClientGrantId) -> Result<()> {
        apis::delete_client_grant(self, id).await
    }

    async fn merge_user_metadata(
        &self,
        id: &UserId,
        app_metadata: &JsonObject,
        user_metadata: &JsonObject,
        now: UnixTime,
    ) -> Result<()> {
        users::merge_user_metadata(self, id, app_metadata, user_metadata, now).await
    }

    async fn create_action(&self, action: &Action) -> Result<()> {
        actions::create_action(self, action).await
    }

    async fn action(&self, id: &ActionId) -> Result<Option<Action>> {
        actions::action(self, id).await
    }

    async fn list_actions(&self) -> Result<Vec<Action>> {
        actions::list_actions(self).await
    }

    async fn update_action(&self, action: &Action) -> Result<()> {
        actions::update_action(self, action).await
    }

    async fn delete_action(&self, id: &ActionId, detach: bool) -> Result<()> {
        actions::delete_action(self, id, detach).await
    }

    async fn deploy_action(
        &self,
        id: &ActionId,
        version: &ActionVersionId,
        code: &ActionCode,
        now: UnixTime,
    ) -> Result<ActionVersion> {
        actions::deploy_action(self, id, version, code, now).await
    }

    async fn action_versions(&self, id: &ActionId) -> Result<Vec<ActionVersion>> {
        actions::action_versions(self, id).await
    }

    async fn bindings(&self, trigger: &str) -> Result<Vec<Binding>> {
        actions::bindings(self, trigger).await
    }

    async fn replace_bindings(&self, trigger: &str, bindings: &[Binding]) -> Result<()> {
        actions::replace_bindings(self, trigger, bindings).await
    }

    async fn bound_actions(&self, trigger: &str) -> Result<Vec<BoundAction>> {
        actions::bound_actions(self, trigger).await
    }

    async fn create_rule(&self, rule: &Rule) -> Result<()> {
        rules::create_rule(self, rule).await
    }

    async fn rule(&self, id: &RuleId) -> Result<Option<Rule>> {
        rules::rule(self, id).await
    }

    async fn list_rules(&self) -> Result<Vec<Rule>> {
        rules::list_rules(self).await
    }

    async fn update_rule(&self, rule: &Rule) -> Result<()> {
        rules::update_rule(self, rule).await
    }

    async fn delete_rule(&self, id: &RuleId) -> Result<bool> {
        rules::delete_rule(self, id).await
    }

    async fn rules_configs(&self) -> Result<Vec<RulesConfig>> {
        rules::rules_configs(self).await
    }

    async fn put_rules_config(&self, config: &RulesConfig) -> Result<()> {
        rules::put_rules_config(self, config).await
    }

    async fn delete_rules_config(&self, key: &str) -> Result<bool> {
        rules::delete_rules_config(self, key).await
    }

    async fn record_executions(&self, executions: &[ActionExecution]) -> Result<()> {
        actions::record_executions(self, executions).await
    }

    async fn action_execution(&self, id: &str) -> Result<Option<ActionExecution>> {
        actions::action_execution(self, id).await
    }

    async fn queue_trigger(&self, queued: &QueuedTrigger) -> Result<()> {
        actions::queue_trigger(self, queued).await
    }

    async fn claim_queued_triggers(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<QueuedTrigger>> {
        actions::claim_queued_triggers(self, now, lease_until, limit).await
    }

    async fn settle_queued_trigger(&self, id: &str, retry_at: Option<UnixTime>) -> Result<()> {
        actions::settle_queued_trigger(self, id, retry_at).await
    }

    async fn create_role(&self, role: &Role) -> Result<()> {
        rbac::create_role(self, role).await
    }

    async fn role(&self, id: &RoleId) -> Result<Option<Role>> {
        rbac::role(self, id).await
    }

    async fn list_roles(&self, page: Page) -> Result<Vec<Role>> {
        rbac::list_roles(self, page).await
    }

    async fn update_role(&self, role: &Role) -> Result<()> {
        rbac::update_role(self, role).await
    }

    async fn create_job(&self, job: &Job) -> Result<()> {
        jobs::create_job(self, job).await
    }

    async fn job(&self, id: &JobId) -> Result<Option<Job>> {
        jobs::job(self, id).await
    }

    async fn delete_role(&self, id: &RoleId) -> Result<()> {
        rbac::delete_role(self, id).await
    }

    async fn add_role_permissions(&self, role: &RoleId, permissions: &[Permission]) -> Result<()> {
        rbac::add_role_permissions(self, role, permissions).await
    }

    async fn remove_role_permissions(
        &self,
        role: &RoleId,
        permissions: &[Permission],
    ) -> Result<()> {
        rbac::remove_role_permissions(self, role, permissions).await
    }

    async fn role_permissions(&self, role: &RoleId) -> Result<Vec<Permission>> {
        rbac::role_permissions(self, role).await
    }

    async fn assign_user_roles(&self, user: &UserId, roles: &[RoleId]) -> Result<()> {
        rbac::assign_user_roles(self, user, roles).await
    }

    async fn remove_user_roles(&self, user: &UserId, roles: &[RoleId]) -> Result<()> {
        rbac::remove_user_roles(self, user, roles).await
    }

    async fn user_roles(&self, user: &UserId) -> Result<Vec<Role>> {
        rbac::user_roles(self, user).await
    }

    async fn role_users(&self, role: &RoleId, page: Page) -> Result<Vec<UserId>> {
        rbac::role_users(self, role, page).await
    }

    async fn add_user_permissions(&self, user: &UserId, permissions: &[Permission]) -> Result<()> {
        rbac::add_user_permissions(self, user, permissions).await
    }

    async fn remove_user_permissions(
        &self,
        user: &UserId,
        permissions: &[Permission],
    ) -> Result<()> {
        rbac::remove_user_permissions(self, user, permissions).await
    }

    async fn user_permissions(&self, user: &UserId) -> Result<Vec<Permission>> {
        rbac::user_permissions(self, user).await
    }

    async fn effective_permissions(&self, user: &UserId, audience: &str) -> Result<Vec<String>> {
        rbac::effective_permissions(self, user, audience).await
    }

    async fn put_consent(&self, consent: &Consent) -> Result<Consent> {
        rbac::put_consent(self, consent).await
    }

    async fn consent(
        &self,
        user: &UserId,
        client: &ClientId,
        audience: &str,
    ) -> Result<Option<Consent>> {
        rbac::consent(self, user, client, audience).await
    }

    async fn list_consents(
        &self,
        user: Option<&UserId>,
        client: Option<&ClientId>,
        page: Page,
    ) -> Result<Vec<Consent>> {
        rbac::list_consents(self, user, client, page).await
    }

    async fn delete_consent(&self, id: &ConsentId) -> Result<()> {
        rbac::delete_consent(self, id).await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        sessions::create_session(self, session).await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>> {
        sessions::session(self, id).await
    }

    async fn session_by_cookie(&self, cookie: &SecretDigest) -> Result<Option<Session>> {
        sessions::session_by_cookie(self, cookie).await
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        now: UnixTime,
        idle_expires_at: UnixTime,
        client: Option<&ClientId>,
    ) -> Result<()> {
        sessions::touch_session(self, id, now, idle_expires_at, client).await
    }

    async fn record_session_method(&self, id: &SessionId, name: &str, at: UnixTime) -> Result<()> {
        sessions::record_session_method(self, id, name, at).await
    }

    async fn session_methods(&self, id: &SessionId) -> Result<Vec<(String, UnixTime)>> {
        sessions::session_methods(self, id).await
    }

    async fn delete_session(&self, id: &SessionId) -> Result<()> {
        sessions::delete_session(self, id).await
    }

    async fn delete_user_sessions(&self, user: &UserId) -> Result<u64> {
        sessions::delete_user_sessions(self, user).await
    }

    async fn create_code(&self, code: &AuthorizationCode) -> Result<()> {
        codes::create_code(self, code).await
    }

    async fn redeem_code(&self, digest: &SecretDigest, now: UnixTime) -> Result<AuthorizationCode> {
        codes::redeem_code(self, digest, now).await
    }

    async fn create_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        refresh::create_refresh_token(self, token).await
    }

    async fn refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshToken>> {
        refresh::refresh_token(self, digest).await
    }

    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        new: &RefreshToken,
        now: UnixTime,
    ) -> Result<RefreshToken> {
        refresh::rotate_refresh_token(self, old, new, now).await
    }

    async fn touch_refresh_token(
        &self,
        digest: &SecretDigest,
        idle_expires_at: Option<UnixTime>,
    ) -> Result<()> {
        refresh::touch_refresh_token(self, digest, idle_expires_at).await
    }

    async fn revoke_refresh_token(&self, digest: &SecretDigest, now: UnixTime) -> Result<bool> {
        refresh::revoke_refresh_token(self, digest, now).await
    }

    async fn revoke_refresh_family(&self, family: &FamilyId, now: UnixTime) -> Result<u64> {
        refresh::revoke_refresh_family(self, family, now).await
    }

    async fn revoke_user_refresh_tokens(
        &self,
        user: &UserId,
        client: Option<&ClientId>,
        now: UnixTime,
    ) -> Result<u64> {
        refresh::revoke_user_refresh_tokens(self, user, client, now).await
    }

    async fn create_device_code(&self, code: &DeviceCode) -> Result<()> {
        device::create_device_code(self, code).await
    }

    async fn device_code_by_user_code(&self, user_code: &str) -> Result<Option<DeviceCode>> {
        device::device_code_by_user_code(self, user_code).await
    }

    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceStatus,
        now: UnixTime,
    ) -> Result<()> {
        device::decide_device_code(self, user_code, decision, now).await
    }

    async fn poll_device_code(&self, digest: &SecretDigest, now: UnixTime) -> Result<DeviceCode> {
        device::poll_device_code(self, digest, now).await
    }

    async fn create_ticket(&self, ticket: &Ticket) -> Result<()> {
        tickets::create_ticket(self, ticket).await
    }

    async fn create_federation_transaction(&self, tx: &FederationTransaction) -> Result<()> {
        federation::create_federation_transaction(self, tx).await
    }

    async fn take_federation_transaction(
        &self,
        state_digest: &SecretDigest,
        binding_digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<FederationTransaction>> {
        federation::take_federation_transaction(self, state_digest, binding_digest, now).await
    }

    async fn ticket(&self, digest: &SecretDigest) -> Result<Option<Ticket>> {
        tickets::ticket(self, digest).await
    }

    async fn consume_ticket(
        &self,
        digest: &SecretDigest,
        kind: TicketKind,
        now: UnixTime,
    ) -> Result<Ticket> {
        tickets::consume_ticket(self, digest, kind, now).await
    }

    async fn put_passwordless_code(&self, code: &PasswordlessCode) -> Result<()> {
        passwordless::put_code(self, code).await
    }

    async fn try_passwordless_code(
        &self,
        connection: &ConnectionId,
        recipient: &str,
        now: UnixTime,
        max_attempts: u32,
    ) -> Result<Option<PasswordlessCode>> {
        passwordless::try_code(self, connection, recipient, now, max_attempts).await
    }

    async fn consume_passwordless_code(
        &self,
        connection: &ConnectionId,
        recipient: &str,
        digest: &[u8; 32],
    ) -> Result<bool> {
        passwordless::consume_code(self, connection, recipient, digest).await
    }

    async fn put_authenticator(&self, authenticator: &Authenticator) -> Result<()> {
        mfa::put(self, authenticator).await
    }

    async fn authenticators(&self, user: &UserId) -> Result<Vec<Authenticator>> {
        mfa::list(self, user).await
    }

    async fn confirm_authenticator(&self, user: &UserId, id: &str, now: UnixTime) -> Result<bool> {
        mfa::confirm(self, user, id, now).await
    }

    async fn take_totp_step(&self, id: &str, step: i64, now: UnixTime) -> Result<bool> {
        mfa::take_step(self, id, step, now).await
    }

    async fn replace_recovery_code(
        &self,
        user: &UserId,
        id: &str,
        old: Option<&SecretDigest>,
        new: &SecretDigest,
        now: UnixTime,
    ) -> Result<bool> {
        mfa::replace_recovery_code(self, user, id, old, new, now).await
    }

    async fn delete_authenticator(&self, user: &UserId, id: &str) -> Result<bool> {
        mfa::delete(self, user, id).await
    }

    async fn delete_authenticators(&self, user: &UserId, now: UnixTime) -> Result<u64> {
        mfa::delete_all(self, user, now).await
    }

    async fn authenticator(&self, id: &str) -> Result<Option<Authenticator>> {
        mfa::one(self, id).await
    }

    async fn reserve_login_attempt(
        &self,
        counter: &LoginCounter,
        max: u32,
        now: UnixTime,
        forget_before: UnixTime,
    ) -> Result<Option<u32>> {
        login_failures::reserve(self, counter, max, now, forget_before).await
    }

    async fn release_login_attempt(&self, counter: &LoginCounter) -> Result<()> {
        login_failures::release(self, counter).await
    }

    async fn clear_login_failures(
        &self,
        connection: Option<&ConnectionId>,
        identifier: &str,
        ip: Option<&str>,
    ) -> Result<u64> {
        login_failures::clear(self, connection, identifier, ip).await
    }

    async fn login_failures(
        &self,
        identifiers: &[String],
        min: u32,
        since: UnixTime,
    ) -> Result<Vec<LoginFailures>> {
        login_failures::list(self, identifiers, min, since).await
    }

    async fn put_oob_code(&self, code: &OobCode) -> Result<()> {
        mfa::put_oob_code(self, code).await
    }

    async fn oob_code(&self, digest: &[u8; 32], now: UnixTime) -> Result<Option<OobCode>> {
        mfa::oob_code(self, digest, now).await
    }

    async fn consume_oob_code(&self, digest: &[u8; 32], binding: &[u8; 32]) -> Result<bool> {
        mfa::consume_oob_code(self, digest, binding).await
    }

    async fn forget_browsers(&self, user: &UserId, now: UnixTime) -> Result<()> {
        mfa::forget_browsers(self, user, now).await
    }

    async fn remembered_browsers(&self, user: &UserId) -> Result<BrowserMemory> {
        mfa::remembered_browsers(self, user).await
    }

    async fn remembered_browser_used(&self, user: &UserId, now: UnixTime) -> Result<()> {
        mfa::remembered_browser_used(self, user, now).await
    }

    async fn create_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        keys::create_signing_key(self, key).await
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        keys::signing_keys(self).await
    }

    async fn rotate_signing_keys(&self, next: &SigningKeyRecord, now: UnixTime) -> Result<()> {
        keys::rotate_signing_keys(self, next, now).await
    }

    async fn revoke_signing_key(&self, kid: &str, now: UnixTime) -> Result<()> {
        keys::revoke_signing_key(self, kid, now).await
    }

    async fn append_log(&self, event: &NewLogEvent) -> Result<LogId> {
        logs::append_logs(self, std::slice::from_ref(event))
            .await?
            .pop()
            .ok_or(StoreError::NotFound("the written log event"))
    }

    async fn append_logs(&self, events: &[NewLogEvent]) -> Result<Vec<LogId>> {
        logs::append_logs(self, events).await
    }

    async fn log(&self, id: &LogId) -> Result<Option<LogEvent>> {
        logs::log(self, id).await
    }

    async fn list_logs(&self, query: &LogQuery, page: Page) -> Result<Vec<LogEvent>> {
        logs::list_logs(self, query, page).await
    }

    async fn logs_from(
        &self,
        query: &LogQuery,
        from: Option<&LogId>,
        take: u32,
    ) -> Result<Vec<LogEvent>> {
        logs::logs_from(self, query, from, take).await
    }

    async fn count_logs(&self, query: &LogQuery) -> Result<u64> {
        logs::count_logs(self, query).await
    }

    async fn queue_email(&self, email: &OutgoingEmail) -> Result<()> {
        outbox::queue_email(self, email).await
    }

    async fn outbox(&self, recipient: Option<&str>, page: Page) -> Result<Vec<OutboxEntry>> {
        outbox::outbox(self, recipient, page).await
    }

    async fn count_outbox(&self) -> Result<u64> {
        outbox::count_outbox(self).await
    }

    async fn claim_emails(
        &self,
        now: UnixTime,
        lease: &str,
        limit: u32,
    ) -> Result<Vec<ClaimedEmail>> {
        outbox::claim_emails(self, now, lease, limit).await
    }

    async fn record_delivery(&self, id: i64, lease: &str, delivered: &Delivered) -> Result<bool> {
        outbox::record_delivery(self, id, lease, delivered).await
    }

    async fn email_provider(&self) -> Result<Option<EmailProvider>> {
        outbox::email_provider(self).await
    }

    async fn put_email_provider(&self, provider: &EmailProvider, now: UnixTime) -> Result<()> {
        outbox::put_email_provider(self, provider, now).await
    }

    async fn delete_email_provider(&self) -> Result<bool> {
        outbox::delete_email_provider(self).await
    }

    async fn email_template(&self, name: TemplateName) -> Result<Option<EmailTemplate>> {
        outbox::email_template(self, name).await
    }

    async fn put_email_template(
        &self,
        template: &EmailTemplate,
        create: bool,
        now: UnixTime,
    ) -> Result<bool> {
        outbox::put_email_template(self, template, create, now).await
    }

    fn connections(&self) -> (u32, u32) {
        let state = self.db.pool_state();
        (state.open, state.idle)
    }

    async fn take_rate_limit(
        &self,
        key: &str,
        limit: sigil_core::rate_limit::RateLimit,
        now_ms: i64,
    ) -> Result<sigil_core::rate_limit::RateTaken> {
        rate_limits::take_rate_limit(self, key, limit, now_ms).await
    }

    async fn give_back_rate_limit(
        &self,
        key: &str,
        limit: sigil_core::rate_limit::RateLimit,
    ) -> Result<()> {
        rate_limits::give_back_rate_limit(self, key, limit).await
    }

    async fn purge_expired(
        &self,
        now: UnixTime,
        retention: &Retention,
        batch: u32,
    ) -> Result<Purged> {
        purge::purge_expired(self, now, retention, batch).await
    }
}
