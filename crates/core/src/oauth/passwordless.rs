//! Auth0's passwordless grant, `http://auth0.com/oauth/grant-type/passwordless/otp`: the code a
//! passwordless connection (`realm`: `email` or `sms`) sent to `username`, for tokens. Every
//! refusal of the code is the same answer, 403 `invalid_grant` "Wrong email or verification
//! code." (or "Wrong phone number …"), logged `fepotpft`.

use zeroize::Zeroizing;

use crate::actions::ActionRunner;
use crate::events::Origin;
use crate::federation::Policy;
use crate::keyring::KeyRing;
use crate::login::Proof;
use crate::model::GrantType;
use crate::passwordless::{self, CodeKey, Entered, Recipient};
use crate::{Rng, Store, UnixTime};

use super::grant_login::{GrantLogin, log_in_and_issue};
use super::mfa_grant::api_or_mfa;
use super::{
    ClientAuth, ErrorCode, FlowError, OAuthError, TokenResponse, authenticate, require_grant,
};

/// A parsed passwordless grant request.
#[derive(Clone, Debug)]
pub struct PasswordlessRequest {
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// The email or phone number the code was sent to.
    pub username: String,
    /// The code, wiped from memory when dropped.
    pub otp: Zeroizing<String>,
    /// The connection (`email` or `sms`).
    pub realm: String,
    /// The API asked for.
    pub audience: Option<String>,
    /// Requested scopes, space-separated.
    pub scope: Option<String>,
    /// Where the request came from: the user's `last_ip`, post-login's `event.request`.
    pub origin: Origin,
}

/// Logs a user in with a passwordless code and issues their tokens.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn passwordless_otp(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    code_key: &CodeKey,
    policy: &Policy,
    actions: &impl ActionRunner,
    issuer: &str,
    now: UnixTime,
    request: &PasswordlessRequest,
) -> Result<TokenResponse, FlowError> {
    let client = authenticate(store, &request.auth, issuer, now).await?;
    require_grant(&client, &[GrantType::PasswordlessOtp])?;
    let connection = passwordless::connection_for(
        store,
        &client.client_id,
        &request.realm,
        ErrorCode::InvalidRequest,
    )
    .await?;
    let settings = passwordless::settings_of(&connection, policy)?;
    let recipient = Recipient::parse(connection.strategy, &request.username).map_err(|e| {
        OAuthError::new(
            ErrorCode::InvalidRequest,
            format!("username: {}", e.description),
        )
    })?;
    let api = api_or_mfa(store, issuer, now, request.audience.as_deref()).await?;
    let entered = Entered {
        connection: &connection,
        settings: &settings,
        client: &client.client_id,
        recipient: &recipient,
        code: &request.otp,
        ip: request.origin.ip.as_deref(),
    };
    let user = match passwordless::redeem(store, rng, code_key, entered, now).await? {
        Ok(user) => user,
        Err(refusal) => return Err(refusal.into_flow_error(&recipient)),
    };
    log_in_and_issue(
        store,
        keys,
        rng,
        actions,
        issuer,
        now,
        GrantLogin {
            proof: Proof::OneTimeCode {
                user: &user,
                channel: recipient.channel(),
                browser: false,
            },
            client: &client,
            connection: Some(&connection.name),
            api,
            scope: request.scope.as_deref(),
            origin: &request.origin,
            gty: None,
        },
    )
    .await
}
