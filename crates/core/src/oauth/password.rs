//! The resource owner password grants: `password` (the tenant's default directory) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (`realm` names the connection).
//!
//! A wrong password and an unknown user get the same answer, 403 `invalid_grant` "Wrong email
//! or password.", after the same amount of hashing.

use zeroize::Zeroizing;

use crate::keyring::KeyRing;
use crate::model::GrantType;
use crate::model::connection::DEFAULT_DATABASE_CONNECTION;
use crate::password::Passwords;
use crate::{Rng, Store, UnixTime};

use super::user_tokens::{Refresh, UserGrant, api, issue};
use super::{ClientAuth, ErrorCode, FlowError, OAuthError, TokenResponse, authenticate};

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

fn wrong() -> FlowError {
    OAuthError::new(ErrorCode::InvalidGrant, "Wrong email or password.").into()
}

/// Logs a user in with a password and issues their tokens.
pub async fn password(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    checker: &impl Passwords,
    issuer: &str,
    now: UnixTime,
    request: &PasswordRequest,
) -> Result<TokenResponse, FlowError> {
    let client = authenticate(store, &request.auth).await?;
    let grants = &client.settings.grant_types;
    if !grants.contains(&GrantType::Password) && !grants.contains(&GrantType::PasswordRealm) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Grant type 'password' not allowed for the client.",
        )
        .into());
    }
    let api = api(store, request.audience.as_deref()).await?;
    let realm = match &request.realm {
        Some(realm) => realm.clone(),
        None => store
            .tenant_settings()
            .await?
            .and_then(|t| t.default_directory)
            .unwrap_or_else(|| DEFAULT_DATABASE_CONNECTION.to_owned()),
    };
    let Some(connection) = store.connection_by_name(&realm).await? else {
        return Err(
            OAuthError::new(ErrorCode::InvalidRequest, format!("Unknown realm: {realm}")).into(),
        );
    };
    let mut user = store
        .user_by_email(&connection.id, &request.username)
        .await?;
    if user.is_none() {
        user = store
            .user_by_username(&connection.id, &request.username)
            .await?;
    }
    let hash = user.as_ref().and_then(|u| u.password.clone());
    let matches = checker.check(hash, request.password.to_string()).await;
    let Some(user) = user.filter(|_| matches) else {
        return Err(wrong());
    };
    if user.blocked {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, "user is blocked").into());
    }
    store
        .record_login(&user.user_id, request.ip.as_deref(), now)
        .await?;
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
            auth_time: Some(now),
            session: None,
            refresh: Refresh::NewFamily,
        },
    )
    .await
}
