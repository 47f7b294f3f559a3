//! The resource owner password grants: `password` (the tenant's default directory) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (`realm` names the connection).
//!
//! A wrong password and an unknown user get the same answer, 403 `invalid_grant` "Wrong email
//! or password.", after the same amount of hashing.

use zeroize::Zeroizing;

use crate::actions::ActionRunner;
use crate::events::Origin;
use crate::keyring::KeyRing;
use crate::login::Proof;
use crate::model::GrantType;
use crate::password::Passwords;
use crate::{Rng, Store, UnixTime};

use super::grant_login::{GrantLogin, log_in_and_issue};
use super::mfa_grant::api_or_mfa;
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
    /// Where the request came from: the user's `last_ip`, post-login's `event.request`.
    pub origin: Origin,
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
    let api = api_or_mfa(store, issuer, now, request.audience.as_deref()).await?;
    let attempt = crate::accounts::PasswordAttempt {
        realm: request.realm.as_deref(),
        username: &request.username,
        password: &request.password,
        ip: request.origin.ip.as_deref(),
        now,
    };
    let mailer = crate::attack_protection::brute_force::Mailer { issuer, rng };
    let user = match crate::accounts::authenticate_user(
        store,
        checker,
        mailer,
        &client.client_id,
        attempt,
    )
    .await?
    {
        Ok(user) => user,
        Err(refusal) => return Err(refusal.into_flow_error()),
    };
    log_in_and_issue(
        store,
        keys,
        rng,
        actions,
        issuer,
        now,
        GrantLogin {
            proof: Proof::Grant(&user),
            client: &client,
            connection: request.realm.as_deref(),
            api,
            scope: request.scope.as_deref(),
            origin: &request.origin,
            gty: Some("password"),
        },
    )
    .await
}
