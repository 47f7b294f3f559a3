//! Tenant code at a flow's triggers, without knowing the engine: the [`ActionRunner`] the
//! server implements (its Actions engine, and the trigger's bindings), what a trigger's run
//! comes back with ([`TriggerRun`]), and what each trigger's commands mean for the flow.

use std::future::Future;

use serde_json::{Value, json};

use crate::Store;
use crate::UnixTime;
use crate::ids::SessionId;
use crate::login::Method;
use crate::model::{Client, JsonObject, ResourceServer, User};
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

    /// Runs the Actions bound to `trigger` (Auth0's id) on the event `event` builds.
    fn run<E: FnOnce() -> Value + Send>(
        &self,
        trigger: &'static str,
        event: E,
    ) -> impl Future<Output = Result<Option<TriggerRun>, FlowError>> + Send;
}

/// No tenant code: every trigger runs nothing.
pub struct NoActions;

impl ActionRunner for NoActions {
    async fn is_bound(&self, _trigger: &'static str) -> Result<bool, FlowError> {
        Ok(false)
    }

    async fn run<E: FnOnce() -> Value + Send>(
        &self,
        _trigger: &'static str,
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
}

impl PostLogin {
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
    let mut decided = PostLogin::default();
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
                return Err(OAuthError::new(ErrorCode::InvalidSignup, shown));
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
    /// The caller's address, when known.
    pub ip: Option<&'a str>,
    /// How the user authenticated.
    pub methods: &'a [Method],
    /// The session the login started or used.
    pub session: Option<&'a SessionId>,
    /// Now, for the metadata's `updated_at`.
    pub now: UnixTime,
}

/// Runs the `post-login` Actions for `user`'s login: what they decided, `None` when none is
/// bound, or the refusal.
pub async fn run_post_login(
    actions: &impl ActionRunner,
    store: &impl Store,
    user: &User,
    facts: LoginFacts<'_>,
) -> Result<Option<PostLogin>, FlowError> {
    if !actions.is_bound("post-login").await? {
        return Ok(None);
    }
    let roles: Vec<String> = store
        .user_roles(&user.user_id)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let event = post_login_event(user, &roles, &facts);
    let Some(run) = actions.run("post-login", move || event).await? else {
        return Ok(None);
    };
    // Metadata is written once, whatever else the Actions decided (a deny included, as Auth0).
    let (app, own) = metadata_changes(&run);
    if !app.is_empty() || !own.is_empty() {
        store
            .merge_user_metadata(&user.user_id, &app, &own, facts.now)
            .await?;
    }
    Ok(Some(post_login(&run)?))
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
    let mut event = json!({
        "user": crate::management::user_json::user_json(user),
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
        "request": {"ip": facts.ip, "geoip": {}},
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
    if let Some(api) = facts.api {
        event["resource_server"] = json!({"identifier": api.identifier});
    }
    if let Some(session) = facts.session {
        event["session"] = json!({"id": session});
    }
    event
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
}
