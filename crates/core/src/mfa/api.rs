//! Auth0's MFA API for embedded login, the part that is not a grant: `GET /mfa/authenticators`,
//! `POST /mfa/associate` (enrol an authenticator app), `POST /mfa/challenge` and
//! `DELETE /mfa/authenticators/{id}`. The caller is the user of an `mfa_token` (the password
//! grant's `mfa_required` answer) or of an access token for the MFA API (`<issuer>mfa/`, whose
//! scopes say what it may do); the codes themselves are checked by the MFA grants
//! (`oauth::mfa_grant`), which also confirm an enrolment.

use serde::Deserialize;
use serde_json::{Value, json};

use super::authenticators;
use crate::ids::UserId;
use crate::model::{AuthenticatorKind, MfaFactor, MfaSettings, User};
use crate::oauth::{ErrorCode, FlowError, OAuthError};
use crate::{Rng, Store, UnixTime};

/// Who calls the MFA API, and with what.
#[derive(Clone, Debug)]
pub enum Caller {
    /// The user of an `mfa_token`, in the middle of a login: may list, enrol when not enrolled
    /// yet, and be challenged, never remove.
    MfaToken(UserId),
    /// The user of an access token for the MFA API, with its scopes.
    AccessToken {
        /// Whose.
        user: UserId,
        /// Its scopes.
        scopes: Vec<String>,
    },
}

impl Caller {
    /// The user.
    pub fn user(&self) -> &UserId {
        match self {
            Caller::MfaToken(user) | Caller::AccessToken { user, .. } => user,
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
            Caller::MfaToken(_) if scope == "remove:authenticators" => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "An mfa_token cannot remove authenticators: use an access token for the MFA API with remove:authenticators",
            )),
            _ => Ok(()),
        }
    }
}

/// `GET /mfa/authenticators`: the user's factors in Auth0's shape (`active` false for an
/// enrolment not confirmed yet).
pub async fn list(store: &impl Store, caller: &Caller) -> Result<Value, FlowError> {
    caller.require("read:authenticators")?;
    let all = store.authenticators(caller.user()).await?;
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
    /// `["otp"]` (or `["oob"]` with `oob_channels`).
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

/// `POST /mfa/associate`: a new authenticator app for the user (pending until the `mfa-otp`
/// grant confirms it with its first code), its secret and `otpauth://` URI, and, on the first
/// enrolment when the tenant enables recovery codes, the recovery code (shown once).
pub async fn associate(
    store: &impl Store,
    rng: &dyn Rng,
    settings: &MfaSettings,
    tenant: &str,
    caller: &Caller,
    body: &AssociateBody,
    now: UnixTime,
) -> Result<Value, FlowError> {
    caller.require("enroll")?;
    if body.authenticator_types != ["otp"] {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "Sigil enrols authenticator apps here: send authenticator_types [\"otp\"]",
        )
        .into());
    }
    if !settings.enabled(MfaFactor::Otp) {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "The otp factor is not enabled for this tenant",
        )
        .into());
    }
    let user = caller.user();
    let all = store.authenticators(user).await?;
    let enrolled = all
        .iter()
        .any(|a| a.confirmed() && a.kind != AuthenticatorKind::RecoveryCode);
    if enrolled && matches!(caller, Caller::MfaToken(_)) {
        return Err(OAuthError::new(ErrorCode::AccessDenied, "User is already enrolled.").into());
    }
    if all
        .iter()
        .any(|a| a.confirmed() && a.kind == AuthenticatorKind::Totp)
    {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "The user has an authenticator app already: remove it first",
        )
        .into());
    }
    // A fresh secret each time: it replaces what an earlier call returned.
    let pending = authenticators::enrol(store, rng, user, now).await?;
    let account = store
        .user(user)
        .await?
        .as_ref()
        .map_or_else(|| user.to_string(), account_name);
    let Some(secret) = pending.totp() else {
        return Err(FlowError::Sign(
            "a pending authenticator app without a secret".to_owned(),
        ));
    };
    let mut out = json!({
        "authenticator_type": "otp",
        "secret": secret.base32().as_str(),
        "barcode_uri": secret.key_uri(tenant, &account).as_str(),
    });
    let has_code = all
        .iter()
        .any(|a| a.kind == AuthenticatorKind::RecoveryCode && a.confirmed());
    if settings.enabled(MfaFactor::RecoveryCode) && !has_code {
        let code = authenticators::new_recovery_code(store, rng, user, now).await?;
        out["recovery_codes"] = json!([code.as_str()]);
    }
    Ok(out)
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
/// from their authenticator app, at the `mfa-otp` grant).
pub async fn challenge(
    store: &impl Store,
    user: &UserId,
    body: &ChallengeBody,
) -> Result<Value, FlowError> {
    let all = store.authenticators(user).await?;
    let active: Vec<_> = all
        .iter()
        .filter(|a| a.confirmed() && a.kind != AuthenticatorKind::RecoveryCode)
        .filter(|a| body.authenticator_id.as_ref().is_none_or(|id| *id == a.id))
        .collect();
    if active.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::AssociationRequired,
            "The user is not enrolled in a factor that can be challenged: enrol with /mfa/associate",
        )
        .into());
    }
    let wanted: Vec<&str> = body
        .challenge_type
        .as_deref()
        .map(|t| t.split_whitespace().collect())
        .unwrap_or_else(|| vec!["otp", "oob"]);
    if wanted.contains(&"otp") && active.iter().any(|a| a.kind == AuthenticatorKind::Totp) {
        return Ok(json!({"challenge_type": "otp"}));
    }
    Err(OAuthError::new(
        ErrorCode::UnsupportedChallengeType,
        "None of the user's authenticators answers this challenge type",
    )
    .into())
}

/// `DELETE /mfa/authenticators/{id}`: `true` when the user had it.
pub async fn remove(store: &impl Store, caller: &Caller, id: &str) -> Result<bool, FlowError> {
    caller.require("remove:authenticators")?;
    Ok(store.delete_authenticator(caller.user(), id).await?)
}
