//! `/grants`: users' consents to applications (Auth0's "grants"), listed and withdrawn.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::ids::{ClientId, ConsentId, UserId};
use sigil_core::model::Consent;
use sigil_core::{Page, Store, StoreError};

use super::body::Params;
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::{Paging, listed};
use crate::App;

fn grant_json(consent: &Consent) -> Value {
    json!({
        "id": consent.id,
        "clientID": consent.client_id,
        "user_id": consent.user_id,
        "audience": consent.audience,
        "scope": consent.scope,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    user_id: Option<String>,
    client_id: Option<String>,
    audience: Option<String>,
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<GrantQuery>,
) -> Result<Json<Value>, MgmtError> {
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let page = paging.page()?;
    let user = query.user_id.map(UserId);
    let client = query.client_id.map(ClientId);
    match &query.audience {
        // The store filters by user and client; an audience filter reads them all.
        Some(audience) => {
            let mut all = Vec::new();
            for n in 0.. {
                let batch = app
                    .store()
                    .list_consents(
                        user.as_ref(),
                        client.as_ref(),
                        Page::new(n, Page::MAX_PER_PAGE),
                    )
                    .await?;
                let done = batch.len() < Page::MAX_PER_PAGE as usize;
                all.extend(batch.into_iter().filter(|c| &c.audience == audience));
                if done {
                    break;
                }
            }
            Ok(Json(
                paging.slice("grants", all.iter().map(grant_json).collect())?,
            ))
        }
        None => {
            let consents = app
                .store()
                .list_consents(user.as_ref(), client.as_ref(), page)
                .await?;
            let listed_grants = consents.iter().map(grant_json).collect();
            Ok(Json(listed(&paging, "grants", listed_grants, None)))
        }
    }
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    match app.store().delete_consent(&ConsentId(id)).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(MgmtError::not_found(
                "inexistent_grant",
                "The grant does not exist.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Delete a grant").await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteByUser {
    user_id: String,
}

/// `DELETE /grants?user_id=…`: every consent of that user.
pub(crate) async fn delete_of_user<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Params(query): Params<DeleteByUser>,
) -> Result<StatusCode, MgmtError> {
    let user = UserId(query.user_id);
    loop {
        let batch = app
            .store()
            .list_consents(Some(&user), None, Page::new(0, Page::MAX_PER_PAGE))
            .await?;
        if batch.is_empty() {
            break;
        }
        for consent in batch {
            match app.store().delete_consent(&consent.id).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    caller.audit(&app, "Delete a user's grants").await;
    Ok(StatusCode::NO_CONTENT)
}
