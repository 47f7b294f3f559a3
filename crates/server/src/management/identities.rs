//! `/users/{id}/identities`: account linking, as Auth0's. A machine with `update:users` names
//! the secondary account by `provider` and `user_id`; a user with their own
//! `update:current_user_identities` token proves the secondary account with `link_with`, an ID
//! token of it issued to the same application. The store links atomically; the answer is the
//! primary's identities.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::ids::UserId;
use sigil_core::management::{
    LinkBody, LinkTarget, ManagementError, identities_json, link_refused, local_id, parse_body,
};

use super::caller::Caller;
use super::error::MgmtError;
use super::users::user_or_404;
use crate::App;

/// What `link_with` must say: who the secondary account is and which application it is for.
#[derive(Deserialize)]
struct LinkWithClaims {
    sub: String,
    aud: Audience,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(one) => one == wanted,
            Audience::Many(many) => many.iter().any(|a| a == wanted),
        }
    }
}

/// The secondary account `link_with` proves: an ID token signed with the tenant's keys
/// (RS256 or PS256, as Auth0 requires), issued here, unexpired, for the application the
/// caller's token was issued to.
async fn proven_account<S: Store>(
    app: &App<S>,
    caller: &Caller,
    token: &str,
) -> Result<UserId, MgmtError> {
    let refused =
        |why: String| MgmtError::bad_body(format!("Payload validation error: 'link_with' {why}."));
    let keys = app.keys().await?;
    let claims = keys
        .id_token_verifier()
        .verify::<LinkWithClaims>(token, app.now())
        .map_err(|e| refused(format!("is not a valid ID token: {e}")))?
        .claims;
    let client = caller
        .client_id()
        .ok_or_else(|| refused("needs a token issued to an application (azp)".to_owned()))?;
    if !claims.aud.contains(client.as_str()) {
        return Err(refused(format!(
            "must be an ID token issued to {client}, the application of this request's token"
        )));
    }
    Ok(UserId(claims.sub))
}

/// `POST /users/{id}/identities`: links the account the body names into user `id`.
pub(crate) async fn link<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let target = parse_body::<LinkBody>(&body)?.target()?;
    let primary = user_or_404(&app, &id).await?;
    let secondary = match target {
        LinkTarget::Account {
            user_id,
            connection_id,
        } => {
            if !caller.has("update:users") {
                return Err(MgmtError::Refused {
                    status: 403,
                    error_code: "insufficient_scope",
                    message: "Linking by provider and user_id needs update:users; a user links \
                              with link_with, an ID token of the other account."
                        .to_owned(),
                });
            }
            let account = app.store().user(&user_id).await?.ok_or_else(|| {
                ManagementError::AccountNotFound(format!(
                    "The secondary account {user_id} does not exist, or is linked already."
                ))
            })?;
            if let Some(connection) = connection_id
                && connection != account.connection_id
            {
                return Err(MgmtError::bad_body(format!(
                    "Payload validation error: 'connection_id' {connection} is not the \
                     connection of {user_id}."
                )));
            }
            user_id
        }
        LinkTarget::Token(token) => proven_account(&app, &caller, &token).await?,
    };
    if let Err(refusal) = app
        .store()
        .link_user(&primary.user_id, &secondary, app.now())
        .await?
    {
        return Err(link_refused(refusal, &secondary).into());
    }
    caller.audit(&app, "Link a User Account").await;
    let linked = user_or_404(&app, &id).await?;
    Ok((StatusCode::CREATED, Json(identities_json(&linked))))
}

/// `DELETE /users/{id}/identities/{provider}/{user_id}`: the linked account becomes a user of
/// its own again; the answer is the primary's remaining identities.
pub(crate) async fn unlink<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path((id, provider, user_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, MgmtError> {
    let primary = user_or_404(&app, &id).await?;
    let local = local_id(&provider, &user_id);
    let main = primary.identities.first();
    if main.is_some_and(|m| m.provider == provider && m.user_id == local) {
        return Err(
            ManagementError::NotSupported("Main identity cannot be removed.".to_owned()).into(),
        );
    }
    if app
        .store()
        .unlink_user(&primary.user_id, &provider, local)
        .await?
        .is_none()
    {
        return Err(MgmtError::not_found(
            "inexistent_identity",
            format!("The user {id} has no linked identity {provider}|{local}."),
        ));
    }
    caller.audit(&app, "Unlink a User Account").await;
    let remaining = user_or_404(&app, &id).await?;
    Ok(Json(identities_json(&remaining)))
}
