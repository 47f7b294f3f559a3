//! Auth0's MFA API for embedded login, the part that is not a grant: `GET /mfa/authenticators`,
//! `POST /mfa/associate` (enrol an authenticator app, or an email address: `oob` by `email`),
//! `POST /mfa/challenge` (`otp`, or `oob`: a code mailed to an email factor) and
//! `DELETE /mfa/authenticators/{id}`. The caller is the user of an `mfa_token` (the password
//! grant's `mfa_required` answer) or of an access token for the MFA API (`<issuer>mfa/`, whose
//! scopes say what it may do); the codes themselves are checked by the MFA grants
//! (`oauth::mfa_grant`), which also confirm an enrolment.

use serde::Deserialize;
use serde_json::{Value, json};

use super::authenticators;
use super::{Effects, email};
use crate::Store;
use crate::ids::{ClientId, UserId};
use crate::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, MfaFactor, MfaSettings, User,
};
use crate::oauth::{ErrorCode, FlowError, OAuthError};

/// Who calls the MFA API, and with what.
#[derive(Clone, Debug)]
pub enum Caller {
    /// The user of an `mfa_token`, in the middle of a login: may list, enrol when not enrolled
    /// yet, and be challenged, never remove.
    MfaToken {
        /// Whose.
        user: UserId,
        /// The application the token was issued to.
        client: ClientId,
    },
    /// The user of an access token for the MFA API, with its scopes.
    AccessToken {
        /// Whose.
        user: UserId,
        /// The application the token was issued to.
        client: ClientId,
        /// Its scopes.
        scopes: Vec<String>,
    },
}

impl Caller {
    /// The user.
    pub fn user(&self) -> &UserId {
        match self {
            Caller::MfaToken { user, .. } | Caller::AccessToken { user, .. } => user,
        }
    }

    /// The application.
    pub fn client(&self) -> &ClientId {
        match self {
            Caller::MfaToken { client, .. } | Caller::AccessToken { client, .. } => client,
        }
    }

    fn require(&self, scope: &'static str) -> Result<(), OAuthError> {
        match self {
            Caller::AccessToken { scopes, .. } if !scopes.iter().any(|s| s == scope) => {
                Err(OAuthError::new(
                    ErrorCode::AccessDenied,
                    format!("Insufficient scope, expected: {scope}"),
                ))
            }
            Caller::MfaToken { .. } if scope == "remove:authenticators" => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "An mfa_token cannot remove authenticators: use an access token for the MFA API with remove:authenticators",
            )),
            _ => Ok(()),
        }
    }
}

/// The user `caller` names, or the refusal when they are gone.
async fn user_of(store: &impl Store, caller: &Caller) -> Result<User, FlowError> {
    store
        .user(caller.user())
        .await?
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidGrant, "the user no longer exists").into())
}

/// The user's factors the MFA API shows: the `stored` ones, and their verified address when
/// the tenant enables the email factor.
fn shown(settings: &MfaSettings, user: &User, stored: &[Authenticator]) -> Vec<Authenticator> {
    let mut all = stored.to_vec();
    for factor in email::factors(settings, user, stored) {
        if !all.iter().any(|a| a.id == factor.id) {
            all.push(factor);
        }
    }
    all
}

/// `GET /mfa/authenticators`: the user's factors in Auth0's shape (`active` false for an
/// enrolment not confirmed yet).
pub async fn list(
    store: &impl Store,
    settings: &MfaSettings,
    caller: &Caller,
) -> Result<Value, FlowError> {
    caller.require("read:authenticators")?;
    let user = user_of(store, caller).await?;
    let stored = store.authenticators(&user.user_id).await?;
    let all = shown(settings, &user, &stored);
    Ok(Value::Array(
        all.iter()
            .map(|a| {
                let mut out = json!({
                    "id": a.id,
                    "authenticator_type": a.kind.authenticator_type(),
                    "active": a.confirmed(),
                });
                match a.kind {
                    AuthenticatorKind::Totp => out["name"] = "Authenticator App".into(),
                    AuthenticatorKind::Email => {
                        out["oob_channel"] = "email".into();
                        out["oob_channels"] = json!(["email"]);
                        out["name"] = a.name.clone().into();
                    }
                    AuthenticatorKind::RecoveryCode => {}
                }
                out
            })
            .collect(),
    ))
}

/// `POST /mfa/associate`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssociateBody {
    /// `["otp"]`, or `["oob"]` with `oob_channels` `["email"]`.
    pub authenticator_types: Vec<String>,
    /// `["email"]`, `["sms"]`, … for `oob`.
    pub oob_channels: Option<Vec<String>>,
    /// For `oob` by email.
    pub email: Option<String>,
    /// For `oob` by SMS or voice.
    pub phone_number: Option<String>,
    /// Sent by some clients; the bearer token names the client already.
    pub client_id: Option<String>,
    /// Sent by some clients; not needed.
    pub client_secret: Option<String>,
}

fn refused(code: ErrorCode, why: &str) -> FlowError {
    OAuthError::new(code, why.to_owned()).into()
}

/// `POST /mfa/associate`: a new authenticator app for the user (pending until the `mfa-otp`
/// grant confirms it with its first code), its secret and `otpauth://` URI; or a new email
/// address (pending until the `mfa-oob` grant confirms it with the code mailed to it now),
/// and the `oob_code` naming that code. On the first enrolment, when the tenant enables
/// recovery codes, the answer has the recovery code too (shown once).
pub async fn associate(
    store: &impl Store,
    settings: &MfaSettings,
    tenant: &str,
    effects: Effects<'_>,
    caller: &Caller,
    body: &AssociateBody,
) -> Result<Value, FlowError> {
    caller.require("enroll")?;
    let kind = match body.authenticator_types.as_slice() {
        [otp] if otp == "otp" => AuthenticatorKind::Totp,
        [oob] if oob == "oob" => match body.oob_channels.as_deref() {
            Some([email]) if email == "email" => AuthenticatorKind::Email,
            _ => {
                return Err(refused(
                    ErrorCode::InvalidRequest,
                    "Sigil sends out-of-band codes by email only: send oob_channels [\"email\"]",
                ));
            }
        },
        _ => {
            return Err(refused(
                ErrorCode::InvalidRequest,
                "authenticator_types must be [\"otp\"] or [\"oob\"] (with oob_channels [\"email\"])",
            ));
        }
    };
    let factor = match kind {
        AuthenticatorKind::Email => MfaFactor::Email,
        _ => MfaFactor::Otp,
    };
    if !settings.enabled(factor) {
        return Err(refused(
            ErrorCode::AccessDenied,
            &format!(
                "The {} factor is not enabled for this tenant",
                factor.as_str()
            ),
        ));
    }
    let user = user_of(store, caller).await?;
    let stored = store.authenticators(&user.user_id).await?;
    let all = shown(settings, &user, &stored);
    let enrolled = all
        .iter()
        .any(|a| a.confirmed() && a.kind != AuthenticatorKind::RecoveryCode);
    if enrolled && matches!(caller, Caller::MfaToken { .. }) {
        return Err(refused(
            ErrorCode::AccessDenied,
            "User is already enrolled.",
        ));
    }
    if stored.iter().any(|a| a.confirmed() && a.kind == kind) {
        return Err(refused(
            ErrorCode::AccessDenied,
            &format!(
                "The user has an enrolled {} already: remove it first",
                kind.as_str()
            ),
        ));
    }
    let now = effects.now;
    let mut out = match kind {
        AuthenticatorKind::Email => associate_email(store, effects, caller, &user, body).await?,
        _ => {
            // A fresh secret each time: it replaces what an earlier call returned.
            let pending = authenticators::enrol(store, effects.rng, &user.user_id, now).await?;
            let Some(secret) = pending.totp() else {
                return Err(FlowError::Sign(
                    "a pending authenticator app without a secret".to_owned(),
                ));
            };
            json!({
                "authenticator_type": "otp",
                "secret": secret.base32().as_str(),
                "barcode_uri": secret.key_uri(tenant, &account_name(&user)).as_str(),
            })
        }
    };
    let has_code = stored
        .iter()
        .any(|a| a.kind == AuthenticatorKind::RecoveryCode && a.confirmed());
    if settings.enabled(MfaFactor::RecoveryCode) && !has_code {
        let code =
            authenticators::new_recovery_code(store, effects.rng, &user.user_id, now).await?;
        out["recovery_codes"] = json!([code.as_str()]);
    }
    Ok(out)
}

/// An address as Sigil takes it ([`check_email`](crate::model::user::check_email)), with a dot
/// in its domain (a mail factor must be deliverable), in [`normalized`](crate::model::user::normalized) form.
fn address(text: Option<&str>) -> Option<String> {
    let text = crate::model::user::check_email(text?).ok()?;
    let (_, domain) = text.split_once('@')?;
    domain
        .contains('.')
        .then(|| crate::model::user::normalized(text))
}

/// `/mfa/associate` for an email address: the pending factor, and its first code mailed.
async fn associate_email(
    store: &impl Store,
    effects: Effects<'_>,
    caller: &Caller,
    user: &User,
    body: &AssociateBody,
) -> Result<Value, FlowError> {
    // Without one, the user's own address (as Auth0's SDKs document).
    let given = body.email.as_deref().or(user.email.as_deref());
    let Some(address) = address(given) else {
        return Err(refused(
            ErrorCode::InvalidRequest,
            "email must be the address to send codes to, such as kate@example.com",
        ));
    };
    let pending = Authenticator {
        id: authenticators::new_id(AuthenticatorKind::Email, effects.rng),
        user_id: user.user_id.clone(),
        kind: AuthenticatorKind::Email,
        name: Some(address),
        secret: AuthenticatorSecret::None,
        confirmed_at: None,
        created_at: effects.now,
        last_auth_at: None,
    };
    store.put_authenticator(&pending).await?;
    let oob_code = mail_code(store, effects, caller, user, &pending).await?;
    Ok(json!({
        "authenticator_type": "oob",
        "binding_method": "prompt",
        "oob_channel": "email",
        "oob_code": oob_code.as_str(),
        "id": pending.id,
    }))
}

/// Mails a code to `factor` for the caller's application: the `oob_code`, or Auth0's 429.
async fn mail_code(
    store: &impl Store,
    effects: Effects<'_>,
    caller: &Caller,
    user: &User,
    factor: &Authenticator,
) -> Result<zeroize::Zeroizing<String>, FlowError> {
    let application = store.client(caller.client()).await?;
    let sent = email::send_code(
        store,
        effects,
        caller.client(),
        user,
        factor,
        application.as_ref(),
    )
    .await?;
    sent.ok_or_else(|| {
        refused(
            ErrorCode::TooManyAttempts,
            "Too many codes were mailed to this user. Wait for some minutes before retrying.",
        )
    })
}

/// How an authenticator app names the account: the email, else the id.
pub fn account_name(user: &User) -> String {
    user.email
        .clone()
        .unwrap_or_else(|| user.user_id.to_string())
}

/// `POST /mfa/challenge`'s body, besides the client's credentials and the `mfa_token`.
#[derive(Debug, Deserialize)]
pub struct ChallengeBody {
    /// `otp`, `oob`, or both space-separated; absent: any.
    pub challenge_type: Option<String>,
    /// One authenticator of the user's.
    pub authenticator_id: Option<String>,
}

/// `POST /mfa/challenge`: which challenge the user of the `mfa_token` answers: `otp` (a code
/// from their authenticator app, at the `mfa-otp` grant), or `oob` (a code mailed to their
/// email factor now, at the `mfa-oob` grant with the `oob_code` answered here).
pub async fn challenge(
    store: &impl Store,
    settings: &MfaSettings,
    effects: Effects<'_>,
    caller: &Caller,
    body: &ChallengeBody,
) -> Result<Value, FlowError> {
    let user = user_of(store, caller).await?;
    let stored = store.authenticators(&user.user_id).await?;
    let all = shown(settings, &user, &stored);
    let active: Vec<_> = all
        .iter()
        .filter(|a| a.confirmed() && a.kind != AuthenticatorKind::RecoveryCode)
        .filter(|a| body.authenticator_id.as_ref().is_none_or(|id| *id == a.id))
        .collect();
    if active.is_empty() {
        return Err(refused(
            ErrorCode::AssociationRequired,
            "The user is not enrolled in a factor that can be challenged: enrol with /mfa/associate",
        ));
    }
    let wanted: Vec<&str> = body
        .challenge_type
        .as_deref()
        .map(|t| t.split_whitespace().collect())
        .unwrap_or_else(|| vec!["otp", "oob"]);
    if wanted.contains(&"otp") && active.iter().any(|a| a.kind == AuthenticatorKind::Totp) {
        return Ok(json!({"challenge_type": "otp"}));
    }
    let email = active.iter().find(|a| a.kind == AuthenticatorKind::Email);
    if let Some(factor) = email.filter(|_| wanted.contains(&"oob")) {
        let oob_code = mail_code(store, effects, caller, &user, factor).await?;
        return Ok(json!({
            "challenge_type": "oob",
            "binding_method": "prompt",
            "oob_code": oob_code.as_str(),
        }));
    }
    Err(refused(
        ErrorCode::UnsupportedChallengeType,
        "None of the user's authenticators answers this challenge type",
    ))
}

/// `DELETE /mfa/authenticators/{id}`: `true` when the user had it.
pub async fn remove(store: &impl Store, caller: &Caller, id: &str) -> Result<bool, FlowError> {
    caller.require("remove:authenticators")?;
    Ok(store.delete_authenticator(caller.user(), id).await?)
}
