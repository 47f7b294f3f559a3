//! Tenant code at a flow's triggers, without knowing the engine: the [`ActionRunner`] the
//! server implements (its Actions engine, and the trigger's bindings), what a trigger's run
//! comes back with ([`TriggerRun`]), and what each trigger's commands mean for the flow.

use std::future::Future;

use serde_json::{Value, json};

use crate::Store;
use crate::UnixTime;
use crate::authorize::Authorization;
use crate::clock::Rng;
use crate::events::Origin;
use crate::ids::SessionId;
use crate::login::Method;
use crate::model::{Client, JsonObject, QueuedTrigger, ResourceServer, User};
use crate::oauth::{ErrorCode, FlowError, OAuthError};

/// An `api.*` call an Action made, e.g. `accessToken.setCustomClaim` with `[name, value]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    /// The call, without `api.`.
    pub op: String,
    /// Its arguments, as JSON.
    pub args: Vec<Value>,
}

/// An Action that failed (threw, timed out, ran out of memory): for the tenant log, never for
/// the application or the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The Action's name.
    pub action: String,
    /// What went wrong.
    pub error: String,
}

/// What the Actions bound to a trigger did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriggerRun {
    /// Their calls, in order.
    pub commands: Vec<Command>,
    /// The one that failed, if one did (no Action ran after it).
    pub failure: Option<Failure>,
    /// The names of the Actions that ran, in order.
    pub executed: Vec<String>,
    /// The record of this execution (`/actions/executions/{id}`), when one was kept.
    pub execution_id: Option<String>,
}

/// Runs the Actions bound to a trigger. With none bound, [`ActionRunner::run`] answers `None`
/// without building the event: a trigger nobody uses costs a lookup.
pub trait ActionRunner: Send + Sync {
    /// Whether any Action is bound to `trigger`: a flow reads what only the event needs (a
    /// user's roles) only then.
    fn is_bound(
        &self,
        trigger: &'static str,
    ) -> impl Future<Output = Result<bool, FlowError>> + Send;

    /// Runs the Actions bound to `trigger` (Auth0's id) on the event `event` builds; with
    /// `resume`, from the Action of that name on, that Action in its `onContinuePostLogin`
    /// (a login back from the Action's redirect). An Action to resume that is no longer bound
    /// is `access_denied`.
    fn run_from<E: FnOnce() -> Value + Send>(
        &self,
        trigger: &'static str,
        resume: Option<&str>,
        event: E,
    ) -> impl Future<Output = Result<Option<TriggerRun>, FlowError>> + Send;

    /// An execution was queued for an asynchronous trigger: whoever runs the queue may look
    /// at once rather than at its next round.
    fn queued(&self) {}

    /// Runs every Action bound to `trigger` on the event `event` builds.
    fn run<E: FnOnce() -> Value + Send>(
        &self,
        trigger: &'static str,
        event: E,
    ) -> impl Future<Output = Result<Option<TriggerRun>, FlowError>> + Send {
        self.run_from(trigger, None, event)
    }
}

/// No tenant code: every trigger runs nothing.
pub struct NoActions;

impl ActionRunner for NoActions {
    async fn is_bound(&self, _trigger: &'static str) -> Result<bool, FlowError> {
        Ok(false)
    }

    async fn run_from<E: FnOnce() -> Value + Send>(
        &self,
        _trigger: &'static str,
        _resume: Option<&str>,
        _event: E,
    ) -> Result<Option<TriggerRun>, FlowError> {
        Ok(None)
    }
}

/// What the application is told when an Action failed: a fixed text (the error is the
/// tenant's, for the log).
pub const FAILED: &str = "An Action failed; the tenant's logs say why";

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `credentials-exchange`: the custom claims for the machine's access token (name, value, in
/// the order set), or the refusal the Actions decided (`api.access.deny(code, reason)`: the
/// code one of `invalid_scope`, `invalid_request`, `server_error`, others read as
/// `invalid_request`) or a failure caused.
pub fn credentials_exchange(run: &TriggerRun) -> Result<Vec<(String, Value)>, OAuthError> {
    if run.failure.is_some() {
        return Err(OAuthError::new(ErrorCode::AccessDenied, FAILED));
    }
    let mut claims = Vec::new();
    for command in &run.commands {
        match command.op.as_str() {
            "accessToken.setCustomClaim" => {
                claims.push((
                    text(command.args.first()),
                    command.args.get(1).cloned().unwrap_or(Value::Null),
                ));
            }
            "access.deny" => {
                let code = match text(command.args.first()).as_str() {
                    "invalid_scope" => ErrorCode::InvalidScope,
                    "server_error" => ErrorCode::ServerError,
                    _ => ErrorCode::InvalidRequest,
                };
                return Err(OAuthError::new(code, text(command.args.get(1))));
            }
            _ => {}
        }
    }
    Ok(claims)
}

/// Where a `post-login` Action sent the user (`api.redirect.sendUserTo`), before the login
/// goes on through `/continue`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redirect {
    /// The tenant's page.
    pub url: String,
    /// The query parameters the Action added (`state` is the caller's).
    pub query: Vec<(String, String)>,
    /// The Action that sent the user: it resumes first.
    pub action: String,
}

impl Redirect {
    /// The page's URL with the Action's query parameters and `state` added (a `state` the
    /// Action gave is replaced); `None` when the Action's URL is not an absolute http(s) URL.
    pub fn location(&self, state: &str) -> Option<String> {
        let mut url = url::Url::parse(&self.url).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| name != "state")
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            for (name, value) in kept.iter().chain(&self.query) {
                if name != "state" {
                    pairs.append_pair(name, value);
                }
            }
            pairs.append_pair("state", state);
        }
        Some(url.into())
    }
}

/// What `post-login` decided for the tokens of this login.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PostLogin {
    /// Custom claims for the ID token (and `/userinfo`), in the order set.
    pub id_token: Vec<(String, Value)>,
    /// Custom claims for the access token, in the order set.
    pub access_token: Vec<(String, Value)>,
    /// Scopes added to the access token.
    pub add_scopes: Vec<String>,
    /// Scopes removed from the access token.
    pub remove_scopes: Vec<String>,
    /// An Action sent the user away: the Actions after it run once the user is back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<Redirect>,
    /// The executions that decided this (two around a redirect), for the success events'
    /// `details.actions.executions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executions: Vec<String>,
    /// Authentication methods an Action's `onContinuePostLogin` recorded
    /// (`api.authentication.recordMethod`), for the session to remember.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_methods: Vec<String>,
    /// What an Action said of the second factor (`api.multifactor.enable`), the last word
    /// winning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multifactor: Option<Multifactor>,
    /// How the user authenticated, for the ID token's `amr` (`["mfa"]` after a second factor;
    /// set by the MFA step after the Actions, never by them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The ID token's `acr`: the PAPE multi-factor policy, when the request asked for it and
    /// the user passed a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
}

/// A post-login Action's word on the second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Multifactor {
    /// Ask for one (`'any'`, or a Guardian provider name).
    Required {
        /// Whether a remembered browser may skip it (`allowRememberBrowser`, default true).
        allow_remember_browser: bool,
    },
    /// Not for this login (`'none'`), whatever the tenant's policy says.
    Off,
}

impl PostLogin {
    /// This decision, then `later`'s (the Actions that ran after a redirect): claims set later
    /// win, scope changes apply in order, and the redirect is `later`'s.
    pub fn then(mut self, later: PostLogin) -> PostLogin {
        self.id_token.extend(later.id_token);
        self.access_token.extend(later.access_token);
        for scope in later.remove_scopes {
            self.add_scopes.retain(|s| *s != scope);
            self.remove_scopes.push(scope);
        }
        for scope in later.add_scopes {
            self.remove_scopes.retain(|s| *s != scope);
            self.add_scopes.push(scope);
        }
        self.redirect = later.redirect;
        self.executions.extend(later.executions);
        self.record_methods.extend(later.record_methods);
        self.multifactor = later.multifactor.or(self.multifactor);
        self
    }

    /// `scopes` as the access token carries them: removals, then additions.
    pub fn access_scopes(&self, scopes: &[String]) -> Vec<String> {
        let mut changed: Vec<String> = scopes
            .iter()
            .filter(|s| !self.remove_scopes.contains(s))
            .cloned()
            .collect();
        for added in &self.add_scopes {
            if !changed.contains(added) {
                changed.push(added.clone());
            }
        }
        changed
    }
}

/// `post-login`: what the Actions decided for the tokens, or the refusal (`api.access.deny`:
/// `access_denied` with the reason the Action gave) or a failure caused (a fixed text).
pub fn post_login(run: &TriggerRun) -> Result<PostLogin, OAuthError> {
    if run.failure.is_some() {
        return Err(OAuthError::new(ErrorCode::AccessDenied, FAILED));
    }
    let mut decided = PostLogin {
        executions: run.execution_id.iter().cloned().collect(),
        ..PostLogin::default()
    };
    for command in &run.commands {
        let name = || text(command.args.first());
        let value = || command.args.get(1).cloned().unwrap_or(Value::Null);
        match command.op.as_str() {
            "idToken.setCustomClaim" => decided.id_token.push((name(), value())),
            "accessToken.setCustomClaim" => decided.access_token.push((name(), value())),
            "accessToken.addScope" => {
                let scope = name();
                decided.remove_scopes.retain(|s| *s != scope);
                decided.add_scopes.push(scope);
            }
            "accessToken.removeScope" => {
                let scope = name();
                decided.add_scopes.retain(|s| *s != scope);
                decided.remove_scopes.push(scope);
            }
            "access.deny" => {
                return Err(OAuthError::new(ErrorCode::AccessDenied, name()));
            }
            "authentication.recordMethod" => decided.record_methods.push(name()),
            "multifactor.enable" => {
                decided.multifactor = Some(if name() == "none" {
                    Multifactor::Off
                } else {
                    Multifactor::Required {
                        allow_remember_browser: command.args.get(1) != Some(&Value::Bool(false)),
                    }
                });
            }
            "redirect.sendUserTo" => {
                let query = match command.args.get(1) {
                    Some(Value::Object(query)) => query
                        .iter()
                        .map(|(name, value)| (name.clone(), text(Some(value))))
                        .collect(),
                    _ => Vec::new(),
                };
                decided.redirect = Some(Redirect {
                    url: name(),
                    query,
                    action: run.executed.last().cloned().unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    Ok(decided)
}

/// `pre-user-registration`: nothing, or the refusal the Actions decided (`api.access.deny(reason,
/// userMessage)`: the user sees the message, or a generic one; `api.validation.error(code,
/// message)`: the message) or a failure caused (a fixed text).
pub fn pre_user_registration(run: &TriggerRun) -> Result<(), OAuthError> {
    if run.failure.is_some() {
        return Err(OAuthError::new(ErrorCode::InvalidSignup, FAILED));
    }
    for command in &run.commands {
        match command.op.as_str() {
            "access.deny" => {
                let shown = match command.args.get(1) {
                    Some(Value::String(message)) if !message.is_empty() => message.clone(),
                    _ => "You are not allowed to sign up.".to_owned(),
                };
                // The first argument is the reason, for the tenant's log only (Auth0's).
                let refused = OAuthError::new(ErrorCode::InvalidSignup, shown);
                return Err(match command.args.first() {
                    Some(Value::String(reason)) if !reason.is_empty() => refused.because(reason),
                    _ => refused,
                });
            }
            "validation.error" => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidSignup,
                    text(command.args.get(1)),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a login's `post-login` event says, beside the user.
pub struct LoginFacts<'a> {
    /// The application.
    pub client: &'a Client,
    /// The API asked for.
    pub api: Option<&'a ResourceServer>,
    /// Auth0's `transaction.protocol` (`oidc-basic-profile`, `oauth2-password`, …).
    pub protocol: &'static str,
    /// The scopes asked for.
    pub requested_scopes: &'a str,
    /// Where the request came from (`event.request`'s address, user agent and language).
    pub origin: &'a Origin,
    /// How the user authenticated.
    pub methods: &'a [Method],
    /// The session the login started or used.
    pub session: Option<&'a SessionId>,
    /// Now, for the metadata's `updated_at`.
    pub now: UnixTime,
    /// The issuer: `request.hostname` is its host.
    pub issuer: &'a str,
    /// The authorization request, for a login through `/authorize`: `request.query` and
    /// `transaction` show it.
    pub authorization: Option<&'a Authorization>,
    /// A login back from an Action's redirect: the Action to resume, and what the browser
    /// sent to `/continue` (`request.query`, `request.body`).
    pub resume: Option<(&'a str, &'a ContinueRequest)>,
    /// The user's role names, when the flow read them already ([`roles_if_bound`]: beside
    /// another read, so that the login does not wait for one read after the other); else
    /// they are read when an Action is bound.
    pub roles: Option<Vec<String>>,
}

/// What the browser sent to `/continue`, as Auth0's `event.request.query` and `body`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContinueRequest {
    /// The query parameters.
    pub query: JsonObject,
    /// The form body's parameters.
    pub body: JsonObject,
}

/// Runs the `post-login` Actions for `user`'s login: what they decided, `None` when none is
/// bound, or the refusal.
pub async fn run_post_login(
    actions: &impl ActionRunner,
    store: &impl Store,
    user: &User,
    mut facts: LoginFacts<'_>,
) -> Result<Option<PostLogin>, FlowError> {
    let roles = match facts.roles.take() {
        Some(roles) => roles,
        None => match roles_if_bound(actions, store, &user.user_id).await? {
            Some(roles) => roles,
            None => return Ok(None),
        },
    };
    let event = post_login_event(user, &roles, &facts);
    let resume = facts.resume.map(|(action, _)| action);
    let Some(run) = actions
        .run_from("post-login", resume, move || event)
        .await?
    else {
        return Ok(None);
    };
    // Metadata is written once, whatever else the Actions decided (a deny included, as Auth0).
    let (app, own) = metadata_changes(&run);
    if !app.is_empty() || !own.is_empty() {
        // Held to the limit of every other writer: what the merge would leave is checked
        // first, and a login whose Actions would overflow it fails, writing nothing.
        for (field, stored, changes) in [
            ("app_metadata", &user.app_metadata, &app),
            ("user_metadata", &user.user_metadata, &own),
        ] {
            let mut merged = stored.clone();
            crate::model::user::merge_keys(&mut merged, changes.clone());
            if let Err(too_large) = crate::model::check_metadata(field, &merged) {
                tracing::warn!(user = %user.user_id, "{too_large}");
                return Err(OAuthError::new(ErrorCode::AccessDenied, too_large.to_string()).into());
            }
        }
        store
            .merge_user_metadata(&user.user_id, &app, &own, facts.now)
            .await?;
    }
    Ok(Some(post_login(&run)?))
}

/// The role names of `user` that the `post-login` event shows, when an Action is bound to it
/// (`None` when none is: nothing is read).
pub async fn roles_if_bound(
    actions: &impl ActionRunner,
    store: &impl Store,
    user: &crate::ids::UserId,
) -> Result<Option<Vec<String>>, FlowError> {
    if !actions.is_bound("post-login").await? {
        return Ok(None);
    }
    let roles = store.user_roles(user).await?;
    Ok(Some(roles.into_iter().map(|r| r.name).collect()))
}

/// Queues an execution of the asynchronous `trigger` (`post-user-registration`,
/// `post-change-password`) on the event `event` builds, when an Action is bound to it: it runs
/// after the flow has answered, at least once, and never holds the user up.
pub async fn queue(
    actions: &impl ActionRunner,
    store: &impl Store,
    rng: &dyn Rng,
    now: UnixTime,
    trigger: &'static str,
    event: impl FnOnce() -> Value,
) -> Result<(), FlowError> {
    if !actions.is_bound(trigger).await? {
        return Ok(());
    }
    store
        .queue_trigger(&queued(rng, now, trigger, event()))
        .await?;
    actions.queued();
    Ok(())
}

/// An execution of the asynchronous `trigger` on `event`, due at once, for the store's queue.
pub fn queued(rng: &dyn Rng, now: UnixTime, trigger: &str, event: Value) -> QueuedTrigger {
    QueuedTrigger {
        id: crate::ids::uuid(rng),
        trigger_id: trigger.to_owned(),
        event,
        attempts: 0,
        next_at: now,
        created_at: now,
    }
}

/// After `user`'s password changed (a reset link): queues `post-change-password` when an
/// Action is bound to it. The change stands whatever becomes of this: a failure is logged.
pub async fn password_changed(
    actions: &impl ActionRunner,
    store: &impl Store,
    rng: &dyn Rng,
    now: UnixTime,
    user: &crate::ids::UserId,
    ip: Option<&str>,
) {
    let queued = async {
        if !actions.is_bound("post-change-password").await? {
            return Ok(());
        }
        let Some(user) = store.user(user).await? else {
            return Ok(());
        };
        let Some(connection) = store.connection(&user.connection_id).await? else {
            return Ok(());
        };
        let event = user_changed_event(&user, &connection, None, ip);
        queue(
            actions,
            store,
            rng,
            now,
            "post-change-password",
            move || event,
        )
        .await
    };
    if let Err(e) = queued.await {
        tracing::error!(error = %e, "cannot queue post-change-password after a password change");
    }
}

/// Auth0's event of the asynchronous triggers after a signup or a password change: the user
/// as now stored, the connection, the application when known, and the request.
pub fn user_changed_event(
    user: &User,
    connection: &crate::model::Connection,
    client: Option<&Client>,
    ip: Option<&str>,
) -> Value {
    let mut event = json!({
        "user": crate::management::user_json::user_json(user),
        "connection": {
            "id": connection.id,
            "name": connection.name,
            "strategy": "auth0",
            "metadata": {},
        },
        "request": {"ip": ip, "geoip": {}},
        "tenant": {"id": "sigil"},
    });
    if let Some(client) = client {
        event["client"] = json!({
            "client_id": client.client_id,
            "name": client.name,
            "metadata": client.settings.client_metadata,
        });
    }
    event
}

/// The `api.user.setAppMetadata` and `setUserMetadata` calls of a run, by key (the last call
/// for a key wins; `null` removes it).
pub fn metadata_changes(run: &TriggerRun) -> (JsonObject, JsonObject) {
    let (mut app, mut own) = (JsonObject::new(), JsonObject::new());
    for command in &run.commands {
        let target = match command.op.as_str() {
            "user.setAppMetadata" => &mut app,
            "user.setUserMetadata" => &mut own,
            _ => continue,
        };
        target.insert(
            text(command.args.first()),
            command.args.get(1).cloned().unwrap_or(Value::Null),
        );
    }
    (app, own)
}

/// Auth0's `post-login` event: what Sigil knows of it (no GeoIP database: `geoip` is `{}`).
fn post_login_event(user: &User, roles: &[String], facts: &LoginFacts<'_>) -> Value {
    let connection = user.identities.first();
    // Auth0's event always has both metadata objects, empty or not.
    let mut profile = crate::management::user_json::user_json(user);
    for name in ["app_metadata", "user_metadata"] {
        if !profile.get(name).is_some_and(Value::is_object) {
            profile[name] = json!({});
        }
    }
    let mut event = json!({
        "user": profile,
        "client": {
            "client_id": facts.client.client_id,
            "name": facts.client.name,
            "metadata": facts.client.settings.client_metadata,
        },
        "connection": {
            "id": user.connection_id,
            "name": connection.map(|i| i.connection.as_str()),
            "strategy": connection.map(|i| i.provider.as_str()),
            "metadata": {},
        },
        "request": {
            "ip": facts.origin.ip,
            "hostname": issuer_host(facts.issuer),
            "user_agent": facts.origin.user_agent,
            "language": facts.origin.language,
            "geoip": facts.origin.geoip,
            "query": {},
            "body": {},
        },
        "transaction": {
            "protocol": facts.protocol,
            "requested_scopes": facts.requested_scopes.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
            "metadata": {},
        },
        "authorization": {"roles": roles},
        "stats": {"logins_count": user.logins_count.saturating_add(1)},
        "authentication": {
            "methods": facts.methods.iter().map(|m| json!({
                "name": m.name,
                "timestamp": crate::clock::auth0_time(m.timestamp),
            })).collect::<Vec<_>>(),
        },
        "tenant": {"id": "sigil"},
    });
    if let Some(authz) = facts.authorization {
        let prompt = if authz.silent {
            Some("none")
        } else if authz.force_login {
            Some("login")
        } else if authz.force_consent {
            Some("consent")
        } else {
            None
        };
        let mut query = JsonObject::new();
        let mut put = |name: &str, value: Option<&str>| {
            if let Some(value) = value {
                query.insert(name.to_owned(), Value::String(value.to_owned()));
            }
        };
        put("client_id", Some(authz.client_id.as_str()));
        put("redirect_uri", Some(&authz.redirect_uri));
        put("response_type", Some(&authz.response_type.words()));
        put("scope", Some(facts.requested_scopes));
        put("state", authz.state.as_deref());
        put("audience", authz.audience.as_deref());
        put("connection", authz.connection.as_deref());
        put("login_hint", authz.login_hint.as_deref());
        put("prompt", prompt);
        let transaction = &mut event["transaction"];
        transaction["redirect_uri"] = json!(authz.redirect_uri);
        transaction["response_type"] =
            json!(authz.response_type.words().split(' ').collect::<Vec<_>>());
        transaction["response_mode"] = json!(authz.response_mode.as_str());
        transaction["state"] = json!(authz.state);
        transaction["prompt"] = json!(prompt.map(|p| [p]).unwrap_or_default());
        transaction["login_hint"] = json!(authz.login_hint);
        event["request"]["query"] = Value::Object(query);
    }
    if let Some((_, back)) = facts.resume {
        event["request"]["query"] = Value::Object(back.query.clone());
        event["request"]["body"] = Value::Object(back.body.clone());
        event["request"]["method"] = json!(if back.body.is_empty() { "GET" } else { "POST" });
    }
    if let Some(api) = facts.api {
        event["resource_server"] = json!({"identifier": api.identifier});
    }
    if let Some(session) = facts.session {
        event["session"] = json!({"id": session});
    }
    event
}

/// The host of `issuer` (`auth.example.com`, without a port), Auth0's `request.hostname`.
fn issuer_host(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        // An IPv6 literal, kept in its brackets.
        Some(v6) => v6.find(']').map_or(authority, |end| &authority[..end + 2]),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(commands: &[(&str, Value)]) -> TriggerRun {
        TriggerRun {
            commands: commands
                .iter()
                .map(|(op, args)| Command {
                    op: (*op).to_owned(),
                    args: args.as_array().cloned().unwrap_or_default(),
                })
                .collect(),
            failure: None,
            executed: vec!["a".to_owned()],
            execution_id: None,
        }
    }

    #[test]
    fn a_credentials_exchange_gives_claims_or_a_refusal() {
        let claims = credentials_exchange(&run(&[
            ("accessToken.setCustomClaim", json!(["tier", "gold"])),
            ("cache.set", json!(["k", "v"])),
        ]))
        .unwrap();
        assert_eq!(claims, [("tier".to_owned(), json!("gold"))]);
        for (code, expected) in [
            ("invalid_scope", ErrorCode::InvalidScope),
            ("invalid_request", ErrorCode::InvalidRequest),
            ("server_error", ErrorCode::ServerError),
            ("made_up", ErrorCode::InvalidRequest),
        ] {
            let refused = credentials_exchange(&run(&[
                ("accessToken.setCustomClaim", json!(["tier", "gold"])),
                ("access.deny", json!([code, "not today"])),
            ]))
            .unwrap_err();
            assert_eq!(
                (refused.code, refused.description.as_str()),
                (expected, "not today")
            );
        }
        let mut failed = run(&[]);
        failed.failure = Some(Failure {
            action: "a".to_owned(),
            error: "TypeError: secret detail".to_owned(),
        });
        let refused = credentials_exchange(&failed).unwrap_err();
        assert_eq!(refused.code, ErrorCode::AccessDenied);
        assert!(!refused.description.contains("secret detail"));
    }

    #[test]
    fn a_post_login_gives_claims_and_scopes_or_a_refusal() {
        let decided = post_login(&run(&[
            (
                "idToken.setCustomClaim",
                json!(["https://e.com/roles", ["admin"]]),
            ),
            ("accessToken.setCustomClaim", json!(["tier", "gold"])),
            ("accessToken.addScope", json!(["read:x"])),
            ("accessToken.removeScope", json!(["write:x"])),
            ("user.setAppMetadata", json!(["seen", true])),
        ]))
        .unwrap();
        assert_eq!(
            decided.id_token,
            [("https://e.com/roles".to_owned(), json!(["admin"]))]
        );
        assert_eq!(decided.access_token, [("tier".to_owned(), json!("gold"))]);
        let scopes = ["openid".to_owned(), "write:x".to_owned()];
        assert_eq!(decided.access_scopes(&scopes), ["openid", "read:x"]);
        let refused = post_login(&run(&[("access.deny", json!(["Not today"]))])).unwrap_err();
        assert_eq!(
            (refused.code, refused.description.as_str()),
            (ErrorCode::AccessDenied, "Not today")
        );
    }

    #[test]
    fn a_redirect_pauses_and_the_decisions_after_it_add_up() {
        let mut paused = run(&[
            ("idToken.setCustomClaim", json!(["a", 1])),
            ("accessToken.addScope", json!(["read:x"])),
            (
                "redirect.sendUserTo",
                json!(["https://t.example/p?keep=1&state=theirs#top", {"session_token": "t", "n": 2}]),
            ),
        ]);
        paused.executed = vec!["first".to_owned(), "terms".to_owned()];
        let before = post_login(&paused).unwrap();
        let redirect = before.redirect.clone().unwrap();
        assert_eq!(redirect.action, "terms");
        assert_eq!(
            redirect.location("s t").as_deref(),
            Some("https://t.example/p?keep=1&n=2&session_token=t&state=s+t#top")
        );
        for url in ["javascript:alert(1)", "/relative", "ftp://t.example/"] {
            let other = Redirect {
                url: url.to_owned(),
                ..redirect.clone()
            };
            assert_eq!(other.location("s"), None, "{url}");
        }
        let after = post_login(&run(&[
            ("idToken.setCustomClaim", json!(["a", 2])),
            ("accessToken.removeScope", json!(["read:x"])),
        ]))
        .unwrap();
        let decided = before.then(after);
        assert_eq!(decided.redirect, None);
        assert_eq!(
            decided.id_token,
            [("a".to_owned(), json!(1)), ("a".to_owned(), json!(2))]
        );
        assert_eq!(decided.access_scopes(&["openid".to_owned()]), ["openid"]);
    }
}
