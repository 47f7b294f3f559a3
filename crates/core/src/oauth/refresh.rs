//! The refresh token grant (RFC 6749 §6) with Auth0's rotation: each use of a rotating token
//! returns a successor and marks the token used; using it again after the client's `leeway`
//! revokes the whole family (and logs `ferrt`), while within the leeway every concurrent use
//! gets the same successor, so racing tabs do not log the user out. A leeway of 0 forgives no
//! reuse at all, not even within the same second.
//!
//! The successor is derived, not drawn: HMAC-SHA256 of the presented token under a server key
//! derived from the master key. Every racer computes the same value, and the store (which keeps
//! only digests) never needs to return it; without the server key, a stolen rotated token does
//! not reveal its successor.

use aws_lc_rs::hmac;
use futures_util::future::try_join;
use zeroize::Zeroizing;

use crate::actions::{ActionRunner, LoginFacts, roles_if_bound, run_post_login};
use crate::events::{LoginContext, Origin};
use crate::keyring::KeyRing;
use crate::login::{self, Login, Proof};
use crate::model::{
    GrantType, LogType, NewLogEvent, RefreshToken, RefreshTokenExpiration, RefreshTokenRotation,
};
use crate::secret::Token;
use crate::{Rng, Store, StoreError, UnixTime};

use super::user_tokens::{Refresh, UserGrant, api, issue};
use super::{
    ClientAuth, ErrorCode, FlowError, OAuthError, TokenResponse, authenticate, require_grant,
};

/// A parsed refresh request.
#[derive(Clone, Debug)]
pub struct RefreshRequest {
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// The refresh token.
    pub refresh_token: Token,
    /// A narrower scope, space-separated; the original scope when absent.
    pub scope: Option<String>,
    /// Where the request came from, for post-login's `event.request`.
    pub origin: Origin,
}

/// The key successors are derived with (see the module documentation).
pub struct RefreshKey(hmac::Key);

impl RefreshKey {
    /// The key from 32 secret bytes (the server derives them from the master key).
    pub fn new(bytes: &Zeroizing<[u8; 32]>) -> Self {
        RefreshKey(hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref()))
    }

    /// The successor of `token`.
    fn successor(&self, token: &Token) -> Token {
        let tag = hmac::sign(&self.0, token.expose().as_bytes());
        Token::new(base64_simd::URL_SAFE_NO_PAD.encode_to_string(tag.as_ref()))
    }
}

impl std::fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKey([redacted])")
    }
}

fn invalid() -> FlowError {
    OAuthError::new(ErrorCode::InvalidGrant, "Unknown or invalid refresh token.").into()
}

/// Whether `token` is neither revoked nor past its absolute or idle end (used or not).
pub(crate) fn live(token: &RefreshToken, now: UnixTime) -> bool {
    token.revoked_at.is_none()
        && token.expires_at.is_none_or(|t| t > now)
        && token.idle_expires_at.is_none_or(|t| t > now)
}

/// Exchanges a refresh token for new tokens.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn refresh(
    store: &impl Store,
    actions: &impl ActionRunner,
    keys: &KeyRing,
    rng: &dyn Rng,
    refresh_key: &RefreshKey,
    issuer: &str,
    now: UnixTime,
    request: &RefreshRequest,
) -> Result<TokenResponse, FlowError> {
    let client = authenticate(store, &request.auth, issuer, now).await?;
    require_grant(&client, &[GrantType::RefreshToken])?;
    let presented = request.refresh_token.digest();
    let Some(old) = store.refresh_token(&presented).await? else {
        return Err(invalid());
    };
    if old.client_id != client.client_id || !live(&old, now) {
        return Err(invalid());
    }
    let scope = match request.scope.as_deref().filter(|s| !s.is_empty()) {
        None => old.scope.clone(),
        Some(asked) => {
            let asked: Vec<String> = asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(extra) = asked.iter().find(|s| !old.scope.contains(s)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("the refresh token was not granted the scope {extra}"),
                )
                .into());
            }
            asked
        }
    };
    // post-login runs again, as Auth0's (before the token rotates: a deny leaves it usable);
    // its event's roles are read beside the user.
    let (user, roles) = try_join(
        async { Ok(store.user(&old.user_id).await?) },
        roles_if_bound(actions, store, &old.user_id),
    )
    .await?;
    let Some(user) = user else {
        return Err(invalid());
    };
    if user.blocked {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, "user is blocked").into());
    }
    let api = api(store, old.audience.as_deref()).await?;
    let decided = if let Some(roles) = roles {
        let requested = scope.join(" ");
        let login = Login {
            proof: Proof::Refresh {
                user: &user,
                auth_time: old.auth_time,
            },
            context: LoginContext {
                client_id: &client.client_id,
                client_name: Some(&client.name),
                connection: None,
            },
            origin: &request.origin,
        };
        let completed = login::complete(store, rng, now, login).await?;
        let facts = LoginFacts {
            client: &client,
            api: api.as_ref(),
            protocol: "oauth2-refresh-token",
            requested_scopes: &requested,
            origin: &request.origin,
            methods: &completed.methods,
            session: old.session_id.as_ref(),
            now,
            issuer,
            authorization: None,
            resume: None,
            roles: Some(roles),
        };
        run_post_login(actions, store, &user, facts).await?
    } else {
        None
    };
    let policy = &client.settings.refresh_token;
    let refresh = match policy.rotation_type {
        RefreshTokenRotation::NonRotating => {
            if let Some(idle) = old.idle_expires_at {
                let extended = UnixTime(now.0 + i64::from(policy.idle_token_lifetime));
                store
                    .touch_refresh_token(&presented, Some(extended.max(idle)))
                    .await?;
            }
            Refresh::Omit
        }
        RefreshTokenRotation::Rotating => {
            let successor = refresh_key.successor(&request.refresh_token);
            let expiring = policy.expiration_type == RefreshTokenExpiration::Expiring;
            let next = RefreshToken {
                digest: successor.digest(),
                family_id: old.family_id.clone(),
                parent: Some(presented.clone()),
                generation: old.generation + 1,
                client_id: old.client_id.clone(),
                user_id: old.user_id.clone(),
                session_id: old.session_id.clone(),
                audience: old.audience.clone(),
                scope: old.scope.clone(),
                created_at: now,
                // The family's absolute end never moves; the idle end starts again.
                expires_at: old.expires_at,
                idle_expires_at: (expiring && !policy.infinite_idle_token_lifetime)
                    .then(|| UnixTime(now.0 + i64::from(policy.idle_token_lifetime))),
                used_at: None,
                revoked_at: None,
                auth_time: old.auth_time,
            };
            match store.rotate_refresh_token(&presented, &next, now).await {
                Ok(_) => {}
                Err(StoreError::AlreadyUsed) => {
                    let used_at = store
                        .refresh_token(&presented)
                        .await?
                        .and_then(|t| t.used_at)
                        .unwrap_or(now);
                    // Times are whole seconds: with a leeway of 0 even a reuse within the
                    // same second is one, or a replay that quick would share the successor.
                    if policy.leeway == 0 || now.0 > used_at.0 + i64::from(policy.leeway) {
                        store.revoke_refresh_family(&old.family_id, now).await?;
                        store
                            .append_log(&NewLogEvent {
                                description: Some(
                                    "a rotated refresh token was reused; its family is revoked"
                                        .to_owned(),
                                ),
                                client_id: Some(client.client_id.clone()),
                                client_name: Some(client.name.clone()),
                                user_id: Some(user.user_id.clone()),
                                ..NewLogEvent::new(LogType::FAILED_REFRESH_REUSE, now)
                            })
                            .await?;
                        return Err(OAuthError::new(
                            ErrorCode::InvalidGrant,
                            "Unknown or invalid refresh token.",
                        )
                        .logged_as(super::LogHint {
                            log_type: LogType::FAILED_REFRESH_REUSE,
                            user_id: Some(user.user_id.clone()),
                            recorded: true,
                        })
                        .into());
                    }
                    // Within the leeway: the racer that won stored this same successor.
                }
                Err(StoreError::NotFound(_) | StoreError::Revoked | StoreError::Expired) => {
                    return Err(invalid());
                }
                Err(other) => return Err(other.into()),
            }
            Refresh::Given(successor.expose().to_owned())
        }
    };
    let scope = scope.join(" ");
    issue(
        store,
        keys,
        rng,
        issuer,
        now,
        &UserGrant {
            client: &client,
            user: &user,
            scope: Some(&scope),
            api,
            gty: Some("refresh_token"),
            nonce: None,
            auth_time: old.auth_time,
            session: old.session_id.as_ref(),
            refresh,
            decided: decided.as_ref(),
        },
    )
    .await
}

/// RFC 7009 revocation of a refresh token by its client: the token's whole family is revoked.
/// An unknown token, or one of another client, is not an error (RFC 7009 §2.2) and changes
/// nothing.
pub async fn revoke(
    store: &impl Store,
    auth: &ClientAuth,
    token: &Token,
    issuer: &str,
    now: UnixTime,
) -> Result<(), FlowError> {
    let client = authenticate(store, auth, issuer, now).await?;
    if let Some(found) = store.refresh_token(&token.digest()).await?
        && found.client_id == client.client_id
    {
        store.revoke_refresh_family(&found.family_id, now).await?;
        store
            .append_log(&NewLogEvent {
                description: Some("refresh token family revoked".to_owned()),
                client_id: Some(client.client_id.clone()),
                client_name: Some(client.name.clone()),
                user_id: Some(found.user_id),
                ..NewLogEvent::new(LogType::SUCCESS_REVOCATION, now)
            })
            .await?;
    }
    Ok(())
}
