//! The resource owner password grants: `password` (the tenant's default directory) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (`realm` names the connection).
//!
//! A wrong password and an unknown user get the same answer, 403 `invalid_grant` "Wrong email
//! or password.", after the same amount of hashing.

use futures_util::future::try_join;
use zeroize::Zeroizing;

use crate::actions::{ActionRunner, LoginFacts, roles_if_bound, run_post_login};
use crate::events::{LoginContext, Origin};
use crate::keyring::KeyRing;
use crate::login::{self, Login, Proof};
use crate::model::GrantType;
use crate::password::Passwords;
use crate::{Rng, Store, UnixTime};

use super::user_tokens::{Refresh, UserGrant, api, issue};
use super::{ClientAuth, FlowError, TokenResponse, authenticate, require_grant};

/// A parsed password grant request.
#[derive(Clone, Debug)]
pub struct PasswordRequest {
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// Email or username.
    pub username: String,
    /// The password, wiped from memory when dropped.
    pub password: Zeroizing<String>,
    /// The connection (`password-realm`); `None` for `password`.
    pub realm: Option<String>,
    /// The API asked for.
    pub audience: Option<String>,
    /// Requested scopes, space-separated.
    pub scope: Option<String>,
    /// The caller's address, for the user's `last_ip`.
    pub ip: Option<String>,
}

/// Logs a user in with a password and issues their tokens.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn password(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    checker: &impl Passwords,
    actions: &impl ActionRunner,
    issuer: &str,
    now: UnixTime,
    request: &PasswordRequest,
) -> Result<TokenResponse, FlowError> {
    let client = authenticate(store, &request.auth, issuer, now).await?;
    require_grant(&client, &[GrantType::Password, GrantType::PasswordRealm])?;
    let api = api(store, request.audience.as_deref()).await?;
    let user = match crate::accounts::authenticate_user(
        store,
        checker,
        &client.client_id,
        request.realm.as_deref(),
        &request.username,
        &request.password,
    )
    .await?
    {
        Ok(user) => user,
        Err(refusal) => return Err(refusal.into_flow_error()),
    };
    let origin = Origin {
        ip: request.ip.clone(),
        ..Origin::default()
    };
    let login = Login {
        proof: Proof::Grant(&user),
        context: LoginContext {
            client_id: &client.client_id,
            client_name: Some(&client.name),
            connection: request.realm.as_deref(),
        },
        origin: &origin,
    };
    // The event's roles (when an Action is bound) are read while the login is recorded.
    let (completed, roles) = try_join(
        async { Ok(login::complete(store, rng, now, login).await?) },
        roles_if_bound(actions, store, &user.user_id),
    )
    .await?;
    let facts = LoginFacts {
        client: &client,
        api: api.as_ref(),
        protocol: "oauth2-password",
        requested_scopes: request.scope.as_deref().unwrap_or_default(),
        ip: request.ip.as_deref(),
        methods: &completed.methods,
        session: None,
        now,
        issuer,
        authorization: None,
        resume: None,
        roles,
    };
    let decided = run_post_login(actions, store, &user, facts).await?;
    issue(
        store,
        keys,
        rng,
        issuer,
        now,
        &UserGrant {
            client: &client,
            user: &user,
            scope: request.scope.as_deref(),
            api,
            gty: Some("password"),
            nonce: None,
            auth_time: Some(completed.auth_time),
            session: None,
            refresh: Refresh::NewFamily,
            decided: decided.as_ref(),
        },
    )
    .await
}
