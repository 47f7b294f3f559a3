//! `/resource-servers`: APIs (the audiences access tokens are made for), in Auth0's shapes.
//! A path names an API by its id or by its identifier, as Auth0's does. An API signed with an
//! algorithm whose key family the tenant lacks (PS256 or ES256, at first) gets that family's keys first
//! ([`KeyFamily::ensure`]), and this node reloads its keys at once. The Management API's own
//! resource server is a system API: it cannot be deleted, and only its token lifetime and
//! consent switch change, as at Auth0. The list takes Auth0's `identifiers` filter, a key that
//! may repeat (up to 10 times); paging and totals apply to the filtered list.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::ids::ResourceServerId;
use sigil_core::key_family::KeyFamily;
use sigil_core::model::{ResourceServer, ResourceServerScope, TokenDialect};
use sigil_core::oauth::canonical_audience;
use sigil_core::{Page, Store, StoreError};
use sigil_jose::Algorithm;

use super::body::{Body, repeated_and_rest};
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use crate::App;

/// How many `identifiers` a list may filter on, as at Auth0.
const MAX_IDENTIFIERS: usize = 10;

/// Auth0's longest access token lifetime: 30 days.
const MAX_TOKEN_LIFETIME: u32 = 2_592_000;

/// Whether `api` is one Sigil serves itself (the Management API).
fn is_system<S: Store>(app: &App<S>, api: &ResourceServer) -> bool {
    api.is_management_api(app.issuer())
}

fn api_json<S: Store>(app: &App<S>, api: &ResourceServer) -> Value {
    let mut json = api.management_json();
    json["is_system"] = Value::Bool(is_system(app, api));
    json
}

fn missing_api() -> MgmtError {
    MgmtError::not_found(
        "inexistent_resource_server",
        "The resource server does not exist.",
    )
}

fn invalid(message: impl std::fmt::Display) -> MgmtError {
    MgmtError::bad_body(format!("Payload validation error: {message}"))
}

/// The API a path names: by id, else by identifier (audience).
async fn api_or_404<S: Store>(app: &App<S>, id: &str) -> Result<ResourceServer, MgmtError> {
    if let Some(api) = app
        .store()
        .resource_server(&ResourceServerId(id.to_owned()))
        .await?
    {
        return Ok(api);
    }
    app.store()
        .resource_server_by_identifier(&canonical_audience(app.issuer(), id))
        .await?
        .ok_or_else(missing_api)
}

/// Every API, oldest first (the table is small: read whole, then paged).
async fn all_apis<S: Store>(app: &App<S>) -> Result<Vec<ResourceServer>, MgmtError> {
    let mut apis = Vec::new();
    for page in 0.. {
        let batch = app
            .store()
            .list_resource_servers(Page::new(page, Page::MAX_PER_PAGE))
            .await?;
        let done = batch.len() < Page::MAX_PER_PAGE as usize;
        apis.extend(batch);
        if done {
            break;
        }
    }
    Ok(apis)
}

/// `GET /resource-servers`: every API, or those whose identifier `identifiers` names (an
/// identifier nobody has matches nothing), paged.
pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MgmtError> {
    let (identifiers, paging) = repeated_and_rest::<Paging>(query.as_deref(), "identifiers")?;
    if identifiers.len() > MAX_IDENTIFIERS {
        return Err(MgmtError::bad_query(format!(
            "Query validation error: 'identifiers' may be given at most {MAX_IDENTIFIERS} times."
        )));
    }
    let wanted: Vec<String> = identifiers
        .iter()
        .map(|identifier| canonical_audience(app.issuer(), identifier))
        .collect();
    let apis: Vec<Value> = all_apis(&app)
        .await?
        .iter()
        .filter(|api| wanted.is_empty() || wanted.contains(&api.identifier))
        .map(|api| api_json(&app, api))
        .collect();
    Ok(Json(paging.slice("resource_servers", apis)?))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(api_json(&app, &api_or_404(&app, &id).await?)))
}

/// A scope as Auth0's bodies give it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScopeBody {
    value: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewApi {
    identifier: String,
    name: Option<String>,
    scopes: Option<Vec<ScopeBody>>,
    signing_alg: Option<String>,
    token_lifetime: Option<u32>,
    token_lifetime_for_web: Option<u32>,
    enforce_policies: Option<bool>,
    token_dialect: Option<TokenDialect>,
    allow_offline_access: Option<bool>,
    skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

/// The fields `PATCH` may change; the identifier is not one of them (it is the audience of
/// every token issued for the API).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiPatch {
    name: Option<String>,
    scopes: Option<Vec<ScopeBody>>,
    signing_alg: Option<String>,
    token_lifetime: Option<u32>,
    token_lifetime_for_web: Option<u32>,
    enforce_policies: Option<bool>,
    token_dialect: Option<TokenDialect>,
    allow_offline_access: Option<bool>,
    skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

impl ApiPatch {
    /// The fields given that a system API does not let change.
    fn system_refusals(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("scopes", self.scopes.is_some()),
            ("signing_alg", self.signing_alg.is_some()),
            (
                "token_lifetime_for_web",
                self.token_lifetime_for_web.is_some(),
            ),
            ("enforce_policies", self.enforce_policies.is_some()),
            ("token_dialect", self.token_dialect.is_some()),
            ("allow_offline_access", self.allow_offline_access.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

fn checked_identifier<S: Store>(app: &App<S>, identifier: &str) -> Result<String, MgmtError> {
    if identifier.is_empty() || identifier.chars().count() > 600 {
        return Err(invalid("'identifier' must have 1 to 600 characters."));
    }
    if identifier
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid("'identifier' cannot contain spaces."));
    }
    // `https://<host>/api/v2/` is the Management API's other name: an API by that name would
    // never get a token.
    if canonical_audience(app.issuer(), identifier) != identifier {
        return Err(StoreError::Conflict(sigil_core::Conflict::ResourceServer).into());
    }
    Ok(identifier.to_owned())
}

fn checked_name(name: &str) -> Result<String, MgmtError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("'name' must have 1 to 200 characters."));
    }
    if name.contains(['<', '>']) {
        return Err(invalid("'name' cannot contain < or >."));
    }
    Ok(name.to_owned())
}

/// Scope values are RFC 6749 §3.3 scope tokens, each defined once.
fn checked_scopes(scopes: Vec<ScopeBody>) -> Result<Vec<ResourceServerScope>, MgmtError> {
    let mut out: Vec<ResourceServerScope> = Vec::with_capacity(scopes.len());
    for (i, scope) in scopes.into_iter().enumerate() {
        let token = |c: char| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
        if scope.value.is_empty()
            || scope.value.chars().count() > 280
            || !scope.value.chars().all(token)
        {
            return Err(invalid(format!(
                "'scopes[{i}].value' must be 1 to 280 printable ASCII characters without spaces, quotes or backslashes."
            )));
        }
        if out.iter().any(|s| s.value == scope.value) {
            return Err(invalid(format!(
                "the scope {} is defined twice.",
                scope.value
            )));
        }
        out.push(ResourceServerScope {
            value: scope.value,
            description: scope.description.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// An algorithm some key family of the tenant signs.
fn checked_alg(alg: &str) -> Result<(Algorithm, KeyFamily), MgmtError> {
    match alg.parse::<Algorithm>() {
        Ok(alg) => match KeyFamily::signing(alg) {
            Some(family) => Ok((alg, family)),
            None if alg == Algorithm::HS256 => Err(invalid(
                "'signing_alg' HS256 is not supported: it signs with a secret of the API's own, which Sigil does not keep; use RS256, PS256 or ES256.",
            )),
            None => Err(invalid("'signing_alg' must be one of RS256, PS256, ES256.")),
        },
        Err(_) => Err(invalid("'signing_alg' must be one of RS256, PS256, ES256.")),
    }
}

/// The rules between fields, checked on the API as it would be stored.
fn checked_consistency(api: &ResourceServer) -> Result<(), MgmtError> {
    if !(1..=MAX_TOKEN_LIFETIME).contains(&api.token_lifetime) {
        return Err(invalid(format!(
            "'token_lifetime' must be between 1 and {MAX_TOKEN_LIFETIME}."
        )));
    }
    if !(1..=api.token_lifetime).contains(&api.token_lifetime_for_web) {
        return Err(invalid(
            "'token_lifetime_for_web' must be at least 1 and cannot be greater than 'token_lifetime'.",
        ));
    }
    if api.token_dialect.includes_permissions() && !api.enforce_policies {
        return Err(invalid(
            "the token dialects access_token_authz and rfc9068_profile_authz need 'enforce_policies': true.",
        ));
    }
    Ok(())
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(new): Body<NewApi>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let identifier = checked_identifier(&app, &new.identifier)?;
    let name = match new.name {
        Some(name) => checked_name(&name)?,
        None => identifier.clone(),
    };
    let mut api = ResourceServer::new(
        ResourceServerId::generate(app.rng()),
        identifier,
        name,
        app.now(),
    );
    if let Some(scopes) = new.scopes {
        api.scopes = checked_scopes(scopes)?;
    }
    let family = match new.signing_alg {
        Some(alg) => {
            let (alg, family) = checked_alg(&alg)?;
            api.signing_alg = alg;
            family
        }
        None => KeyFamily::Rs256,
    };
    if let Some(lifetime) = new.token_lifetime {
        api.token_lifetime = lifetime;
        api.token_lifetime_for_web = api.token_lifetime_for_web.min(lifetime);
    }
    if let Some(lifetime) = new.token_lifetime_for_web {
        api.token_lifetime_for_web = lifetime;
    }
    if let Some(enforce) = new.enforce_policies {
        api.enforce_policies = enforce;
    }
    if let Some(dialect) = new.token_dialect {
        api.token_dialect = dialect;
    }
    if let Some(offline) = new.allow_offline_access {
        api.allow_offline_access = offline;
    }
    if let Some(skip) = new.skip_consent_for_verifiable_first_party_clients {
        api.skip_consent_for_verifiable_first_party_clients = skip;
    }
    checked_consistency(&api)?;
    // Checked first only to make no keys for an API that cannot be created; the unique
    // identifier decides below.
    if app
        .store()
        .resource_server_by_identifier(&api.identifier)
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict(sigil_core::Conflict::ResourceServer).into());
    }
    // The keys before the API: an API that exists can always be signed for.
    super::keys::ensure_family(&app, family).await?;
    app.store().create_resource_server(&api).await?;
    caller.audit(&app, "Create a resource server").await;
    Ok((StatusCode::CREATED, Json(api_json(&app, &api))))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<ApiPatch>,
) -> Result<Json<Value>, MgmtError> {
    let mut api = api_or_404(&app, &id).await?;
    if is_system(&app, &api) {
        let refused = patch.system_refusals();
        if !refused.is_empty() {
            return Err(invalid(format!(
                "'Additional properties not allowed: {}' (a system API changes only token_lifetime and skip_consent_for_verifiable_first_party_clients).",
                refused.join(",")
            )));
        }
    }
    if let Some(name) = patch.name {
        api.name = checked_name(&name)?;
    }
    if let Some(scopes) = patch.scopes {
        api.scopes = checked_scopes(scopes)?;
    }
    let mut family = None;
    if let Some(alg) = patch.signing_alg {
        let (alg, needs) = checked_alg(&alg)?;
        api.signing_alg = alg;
        family = Some(needs);
    }
    if let Some(lifetime) = patch.token_lifetime {
        api.token_lifetime = lifetime;
        if patch.token_lifetime_for_web.is_none() {
            api.token_lifetime_for_web = api.token_lifetime_for_web.min(lifetime);
        }
    }
    if let Some(lifetime) = patch.token_lifetime_for_web {
        api.token_lifetime_for_web = lifetime;
    }
    if let Some(enforce) = patch.enforce_policies {
        api.enforce_policies = enforce;
    }
    if let Some(dialect) = patch.token_dialect {
        api.token_dialect = dialect;
    }
    if let Some(offline) = patch.allow_offline_access {
        api.allow_offline_access = offline;
    }
    if let Some(skip) = patch.skip_consent_for_verifiable_first_party_clients {
        api.skip_consent_for_verifiable_first_party_clients = skip;
    }
    checked_consistency(&api)?;
    if let Some(family) = family {
        super::keys::ensure_family(&app, family).await?;
    }
    api.updated_at = app.now();
    match app.store().update_resource_server(&api).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing_api()),
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Update a resource server").await;
    Ok(Json(api_json(&app, &api)))
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let api = api_or_404(&app, &id).await?;
    if is_system(&app, &api) {
        return Err(MgmtError::BadRequest {
            error_code: "operation_not_supported",
            message: "A system resource server cannot be deleted.".to_owned(),
        });
    }
    match app.store().delete_resource_server(&api.id).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing_api()),
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Delete a resource server").await;
    Ok(StatusCode::NO_CONTENT)
}
