//! Multi-factor authentication at the token endpoint, Auth0's MFA API for embedded login:
//!
//! - [`required`]: a login at the token endpoint (`password`, `password-realm`,
//!   `passwordless/otp`) that needs a second factor (`mfa::need`, or an access token for the
//!   MFA API itself, which always does) answers 403 `mfa_required` with an `mfa_token` and
//!   Auth0's `mfa_requirements` (`challenge` with the user's factors, or `enroll`), instead of
//!   tokens;
//! - [`mfa_grant`]: `http://auth0.com/oauth/grant-type/mfa-otp` and `…/mfa-recovery-code` take
//!   the `mfa_token` and the code, check it as the hosted pages do (`mfa::authenticators`: the
//!   attempt bucket first, a TOTP step once), and issue the tokens the login would have, with
//!   `amr: ["mfa"]` in the ID token; the recovery code grant also answers the new
//!   `recovery_code`;
//! - the MFA API's own audience, `<issuer>mfa/`, with Auth0's three scopes (`enroll`,
//!   `read:authenticators`, `remove:authenticators`) and ten-minute tokens: a system API no
//!   store holds ([`mfa_api`]).

use zeroize::Zeroizing;

use crate::actions::PostLogin;
use crate::events::{Events, Origin};
use crate::ids::{ResourceServerId, UserId};
use crate::keyring::KeyRing;
use crate::mfa::{self, authenticators};
use crate::model::{
    AuthenticatorKind, Client, GrantType, LogType, MfaFactor, MfaSettings, ResourceServer,
    ResourceServerScope, User,
};
use crate::{Rng, Store, UnixTime};

use super::mfa_token::{MFA_TOKEN_LIFETIME, MfaGrant, MfaTokenError};
use super::user_tokens::{Refresh, UserGrant, api, issue};
use super::{
    ClientAuth, ErrorCode, FlowError, LogHint, OAuthError, TokenResponse, authenticate,
    require_grant,
};

/// The MFA API's audience: `<issuer>mfa/`.
pub fn mfa_audience(issuer: &str) -> String {
    format!("{issuer}mfa/")
}

/// The MFA API's scopes, Auth0's.
pub const MFA_API_SCOPES: [&str; 3] = ["enroll", "read:authenticators", "remove:authenticators"];

/// The MFA API as an API: its audience, Auth0's three scopes, ten-minute access tokens.
pub fn mfa_api(issuer: &str, now: UnixTime) -> ResourceServer {
    let mut api = ResourceServer::new(
        ResourceServerId("mfa".to_owned()),
        mfa_audience(issuer),
        "MFA API".to_owned(),
        now,
    );
    api.token_lifetime = MFA_TOKEN_LIFETIME as u32;
    api.token_lifetime_for_web = MFA_TOKEN_LIFETIME as u32;
    api.skip_consent_for_verifiable_first_party_clients = true;
    api.scopes = MFA_API_SCOPES
        .iter()
        .map(|s| ResourceServerScope {
            value: (*s).to_owned(),
            description: String::new(),
        })
        .collect();
    api
}

/// The API `audience` names for a token-endpoint login: the MFA API, or one the store holds.
pub(crate) async fn api_or_mfa(
    store: &impl Store,
    issuer: &str,
    now: UnixTime,
    audience: Option<&str>,
) -> Result<Option<ResourceServer>, FlowError> {
    if audience == Some(mfa_audience(issuer).as_str()) {
        return Ok(Some(mfa_api(issuer, now)));
    }
    api(store, audience).await
}

/// What a token-endpoint login knows when it is about to issue tokens.
pub(crate) struct Issuing<'a> {
    pub(crate) client: &'a Client,
    pub(crate) user: &'a User,
    pub(crate) connection: Option<&'a str>,
    pub(crate) api: Option<&'a ResourceServer>,
    pub(crate) scope: Option<&'a str>,
    pub(crate) auth_time: UnixTime,
    pub(crate) decided: Option<&'a PostLogin>,
}

/// The `mfa_required` answer when `login` needs a second factor first; `None` when it does
/// not. An access token for the MFA API always needs one.
pub(crate) async fn required(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    login: Issuing<'_>,
) -> Result<Option<OAuthError>, FlowError> {
    let for_mfa_api = login
        .api
        .is_some_and(|api| api.identifier == mfa_audience(issuer));
    let settings = store.tenant_settings().await?.unwrap_or_default().mfa;
    if settings.factors.is_empty() && !for_mfa_api {
        return Ok(None);
    }
    let action = login.decided.and_then(|d| d.multifactor);
    if for_mfa_api && !settings.enabled(MfaFactor::Otp) {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "Multifactor authentication is not enabled for this tenant (enable the otp factor)",
        )
        .into());
    }
    if !for_mfa_api && mfa::need(&settings, false, action).is_none() {
        return Ok(None);
    }
    let grant = MfaGrant {
        sub: login.user.user_id.to_string(),
        azp: login.client.client_id.to_string(),
        realm: login.connection.map(str::to_owned),
        aud: login.api.map(|a| a.identifier.clone()),
        scope: login.scope.map(str::to_owned),
        auth_time: login.auth_time.0,
        iat: now.0,
        exp: now.0 + MFA_TOKEN_LIFETIME,
        decided: login.decided.cloned(),
    };
    let token = keys
        .mfa_tokens()
        .seal(rng, &grant)
        .map_err(FlowError::Sign)?;
    let requirements = requirements(store, &settings, login.user).await?;
    Ok(Some(
        OAuthError::new(
            ErrorCode::MfaRequired,
            "Multifactor authentication required",
        )
        .with("mfa_token", token.into())
        .with("mfa_requirements", requirements)
        .logged_as(LogHint {
            log_type: LogType::MFA_REQUIRED,
            user_id: Some(login.user.user_id.clone()),
            recorded: false,
        }),
    ))
}

/// Auth0's `mfa_requirements`: the factors the user can be challenged with, or (none yet)
/// the ones to enrol.
async fn requirements(
    store: &impl Store,
    settings: &MfaSettings,
    user: &User,
) -> Result<serde_json::Value, FlowError> {
    let all = store.authenticators(&user.user_id).await?;
    let has = |kind| all.iter().any(|a| a.kind == kind && a.confirmed());
    let email = !mfa::email::factors(settings, user, &all).is_empty();
    if !has(AuthenticatorKind::Totp) && !email {
        return Ok(serde_json::json!({"enroll": [{"type": "otp"}]}));
    }
    let mut challenge = Vec::new();
    if has(AuthenticatorKind::Totp) {
        challenge.push(serde_json::json!({"type": "otp"}));
    }
    if email {
        challenge.push(serde_json::json!({"type": "email"}));
    }
    if settings.enabled(MfaFactor::RecoveryCode) && has(AuthenticatorKind::RecoveryCode) {
        challenge.push(serde_json::json!({"type": "recovery-code"}));
    }
    Ok(serde_json::json!({ "challenge": challenge }))
}

/// What the user proves with, in an MFA grant.
#[derive(Clone, Debug)]
pub enum MfaProof {
    /// `mfa-otp`: a code from their authenticator app.
    Otp(Zeroizing<String>),
    /// `mfa-oob`: the code mailed to them (`binding_code`) for the challenge `oob_code` named.
    Oob {
        /// What `/mfa/challenge` (or `/mfa/associate`) answered.
        oob_code: Zeroizing<String>,
        /// The code in the mail.
        binding_code: Zeroizing<String>,
    },
    /// `mfa-recovery-code`: their recovery code.
    RecoveryCode(Zeroizing<String>),
}

impl MfaProof {
    /// The grant type it comes with.
    pub fn grant_type(&self) -> GrantType {
        match self {
            MfaProof::Otp(_) => GrantType::MfaOtp,
            MfaProof::Oob { .. } => GrantType::MfaOob,
            MfaProof::RecoveryCode(_) => GrantType::MfaRecoveryCode,
        }
    }
}

/// A parsed MFA grant request.
#[derive(Clone, Debug)]
pub struct MfaGrantRequest {
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// The `mfa_token` the password grant answered.
    pub mfa_token: String,
    /// The second factor.
    pub proof: MfaProof,
    /// Where the request came from.
    pub origin: Origin,
}

/// The `mfa_token` `token`, opened for `client` at `now`, or Auth0's refusal.
pub fn open_mfa_token(
    keys: &KeyRing,
    token: &str,
    client: Option<&Client>,
    now: UnixTime,
) -> Result<MfaGrant, OAuthError> {
    let grant = keys.mfa_tokens().open(token, now).map_err(|e| match e {
        MfaTokenError::Malformed => OAuthError::new(ErrorCode::InvalidGrant, e.to_string()),
        MfaTokenError::Expired => OAuthError::new(ErrorCode::ExpiredToken, e.to_string()),
    })?;
    if let Some(client) = client
        && client.client_id.as_str() != grant.azp
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "mfa_token not issued to this client",
        ));
    }
    Ok(grant)
}

/// The MFA grants: the second factor of a login that answered `mfa_required`, for its tokens.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn mfa_grant(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    events: &dyn Events,
    issuer: &str,
    now: UnixTime,
    request: &MfaGrantRequest,
) -> Result<TokenResponse, FlowError> {
    let client = authenticate(store, &request.auth, issuer, now).await?;
    require_grant(&client, &[request.proof.grant_type()])?;
    let grant = open_mfa_token(keys, &request.mfa_token, Some(&client), now)?;
    let refused = |why: &str| FlowError::from(OAuthError::new(ErrorCode::InvalidGrant, why));
    let user = store
        .user(&UserId(grant.sub.clone()))
        .await?
        .ok_or_else(|| refused("the user no longer exists"))?;
    if user.blocked {
        return Err(refused("user is blocked"));
    }
    let settings = store.tenant_settings().await?.unwrap_or_default().mfa;
    let attempt = authenticators::Attempt {
        client_id: Some(&client.client_id),
        user: &user.user_id,
        origin: &request.origin,
        now,
    };
    let (checked, wrong) = match &request.proof {
        MfaProof::Otp(code) => (
            authenticators::check_otp(store, events, rng, &settings, attempt, code).await?,
            "Invalid otp_code.",
        ),
        MfaProof::Oob {
            oob_code,
            binding_code,
        } => (
            mfa::email::check_code(
                store,
                mfa::Effects {
                    keys: keys.mfa_tokens(),
                    rng,
                    events,
                    origin: &request.origin,
                    now,
                },
                &settings,
                &client.client_id,
                &user.user_id,
                oob_code,
                binding_code,
            )
            .await?,
            "Invalid binding_code.",
        ),
        MfaProof::RecoveryCode(code) => (
            authenticators::use_recovery_code(store, events, rng, &settings, attempt, code).await?,
            "Invalid recovery_code.",
        ),
    };
    let recovery_code = match checked {
        authenticators::Checked::Passed { recovery_code, .. } => recovery_code,
        authenticators::Checked::Wrong | authenticators::Checked::Malformed => {
            return Err(refused(wrong));
        }
        authenticators::Checked::TooManyAttempts => {
            return Err(OAuthError::new(
                ErrorCode::TooManyAttempts,
                "Too many failed codes. Wait for some minutes before retrying.",
            )
            .into());
        }
        authenticators::Checked::Expired => {
            return Err(refused(
                "The oob_code has expired or is not valid: ask for a new challenge",
            ));
        }
        authenticators::Checked::NotThisLogin => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "The oob_code doesn't match the mfa_token",
            )
            .into());
        }
        authenticators::Checked::NotEnrolled => {
            return Err(OAuthError::new(
                ErrorCode::AssociationRequired,
                "The user has no factor of this kind: enrol one with /mfa/associate",
            )
            .into());
        }
    };
    let api = api_or_mfa(store, issuer, now, grant.aud.as_deref()).await?;
    let mut decided = grant.decided.clone().unwrap_or_default();
    decided.amr = vec![mfa::METHOD.to_owned()];
    let mut response = issue(
        store,
        keys,
        rng,
        issuer,
        now,
        &UserGrant {
            client: &client,
            user: &user,
            scope: grant.scope.as_deref(),
            api,
            gty: Some("mfa"),
            nonce: None,
            auth_time: Some(UnixTime(grant.auth_time)),
            session: None,
            refresh: Refresh::NewFamily,
            decided: Some(&decided),
        },
    )
    .await?;
    response.recovery_code = recovery_code.map(|code| code.to_string());
    Ok(response)
}
