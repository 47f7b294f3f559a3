//! `/clients`: applications in Auth0's shape ([`Client::management_json`]), with the rules
//! of `sigil_core::model::client_rules`. A client secret leaves Sigil only when it is made (on
//! creation, on rotation, or when a change calls for a new one) and, for HS256 clients whose
//! sealed secret Sigil keeps, on reads by a token with `read:client_keys`; otherwise Sigil
//! holds only its digest. Changes reach this node's token endpoint at once (its cache entry is
//! dropped), other nodes within `CACHE_TTL`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use sigil_core::ids::ClientId;
use sigil_core::key_family::KeyFamily;
use sigil_core::model::client_rules::{app_url, web_origin};
use sigil_core::model::{
    AppType, Client, GrantType, RefreshTokenExpiration, RefreshTokenRotation,
    TokenEndpointAuthMethod,
};
use sigil_core::secret::ClientSecret;
use sigil_core::{Page, Store, StoreError};
use sigil_jose::Algorithm;

use super::body::{Body, Params};
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use crate::App;

/// What a token with only `read:client_summary` (or `read:client_credentials`) may see.
const SUMMARY: [&str; 4] = ["client_id", "app_type", "name", "description"];

fn missing_client() -> MgmtError {
    MgmtError::not_found("inexistent_client", "The client does not exist.")
}

async fn client_or_404<S: Store>(app: &App<S>, id: &str) -> Result<Client, MgmtError> {
    app.store()
        .client(&ClientId(id.to_owned()))
        .await?
        .ok_or_else(missing_client)
}

/// `fields` and `include_fields`: which members to keep (or drop).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Projection {
    fields: Option<String>,
    include_fields: Option<bool>,
}

impl Projection {
    /// Keeps (or with `include_fields=false` drops) the named members; `a.b` names a member
    /// of the object `a`.
    fn apply(&self, object: Map<String, Value>) -> Result<Map<String, Value>, MgmtError> {
        let Some(fields) = self.fields.as_deref().filter(|f| !f.is_empty()) else {
            return Ok(object);
        };
        let names: Vec<&str> = fields.split(',').map(str::trim).collect();
        if names.iter().any(|n| n.is_empty()) {
            return Err(MgmtError::bad_query(
                "Query validation error: 'fields' is a comma-separated list of field names.",
            ));
        }
        if self.include_fields.unwrap_or(true) {
            let mut out = Map::new();
            for name in names {
                match name.split_once('.') {
                    None => {
                        if let Some(v) = object.get(name) {
                            out.insert(name.to_owned(), v.clone());
                        }
                    }
                    Some((outer, inner)) => {
                        if let Some(v) = object.get(outer).and_then(|o| o.get(inner))
                            && let Value::Object(part) = out
                                .entry(outer.to_owned())
                                .or_insert_with(|| Value::Object(Map::new()))
                        {
                            part.insert(inner.to_owned(), v.clone());
                        }
                    }
                }
            }
            Ok(out)
        } else {
            let mut out = object;
            for name in names {
                match name.split_once('.') {
                    None => {
                        out.remove(name);
                    }
                    Some((outer, inner)) => {
                        if let Some(Value::Object(part)) = out.get_mut(outer) {
                            part.remove(inner);
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}

/// The client as this caller may see it.
fn view(caller: &Caller, client: &Client, projection: &Projection) -> Result<Value, MgmtError> {
    let keys = caller.require(&["read:client_keys"]).is_ok();
    let full = keys || caller.require(&["read:clients"]).is_ok();
    let secret = client.signing_secret.as_ref().filter(|_| keys);
    let Value::Object(mut object) = client.management_json(secret) else {
        return Err(MgmtError::Internal("a client is not a JSON object".into()));
    };
    if !full {
        object.retain(|k, _| SUMMARY.contains(&k.as_str()));
    }
    Ok(Value::Object(projection.apply(object)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    fields: Option<String>,
    include_fields: Option<bool>,
    app_type: Option<String>,
    is_first_party: Option<bool>,
}

/// Every client (read whole, filtered, then paged, as roles are).
async fn all_clients<S: Store>(app: &App<S>) -> Result<Vec<Client>, MgmtError> {
    let mut clients = Vec::new();
    for page in 0.. {
        let batch = app
            .store()
            .list_clients(Page::new(page, Page::MAX_PER_PAGE))
            .await?;
        let done = batch.len() < Page::MAX_PER_PAGE as usize;
        clients.extend(batch);
        if done {
            break;
        }
    }
    Ok(clients)
}

/// `app_type=spa,native`: the types asked for.
fn app_types(list: Option<&str>) -> Result<Option<Vec<AppType>>, MgmtError> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    list.split(',')
        .map(|name| {
            AppType::parse(name.trim()).ok_or_else(|| {
                MgmtError::bad_query(format!(
                    "Query validation error: 'app_type' {name:?} is not one of spa, native, regular_web, non_interactive."
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Params(query): Params<ClientQuery>,
) -> Result<Json<Value>, MgmtError> {
    caller.require(&[
        "read:clients",
        "read:client_keys",
        "read:client_credentials",
        "read:client_summary",
    ])?;
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    paging.page()?;
    let projection = Projection {
        fields: query.fields,
        include_fields: query.include_fields,
    };
    let types = app_types(query.app_type.as_deref())?;
    let mut listed = Vec::new();
    for client in all_clients(&app).await? {
        let wanted = types.as_ref().is_none_or(|t| t.contains(&client.app_type))
            && query
                .is_first_party
                .is_none_or(|f| f == client.is_first_party);
        if wanted {
            listed.push(view(&caller, &client, &projection)?);
        }
    }
    Ok(Json(paging.slice("clients", listed)?))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Params(projection): Params<Projection>,
) -> Result<Json<Value>, MgmtError> {
    caller.require(&[
        "read:clients",
        "read:client_keys",
        "read:client_credentials",
        "read:client_summary",
    ])?;
    let client = client_or_404(&app, &id).await?;
    Ok(Json(view(&caller, &client, &projection)?))
}

/// `jwt_configuration`: what is given replaces what is there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JwtBody {
    alg: Option<Algorithm>,
    lifetime_in_seconds: Option<u32>,
}

/// `refresh_token`: what is given replaces what is there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    rotation_type: Option<RefreshTokenRotation>,
    expiration_type: Option<RefreshTokenExpiration>,
    leeway: Option<u32>,
    token_lifetime: Option<u32>,
    infinite_token_lifetime: Option<bool>,
    idle_token_lifetime: Option<u32>,
    infinite_idle_token_lifetime: Option<bool>,
}

/// The body of `POST /clients` (where `name` is required) and `PATCH /clients/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientBody {
    name: Option<String>,
    description: Option<String>,
    logo_uri: Option<String>,
    app_type: Option<AppType>,
    callbacks: Option<Vec<String>>,
    allowed_logout_urls: Option<Vec<String>>,
    web_origins: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    grant_types: Option<Vec<GrantType>>,
    token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    jwt_configuration: Option<JwtBody>,
    refresh_token: Option<RefreshBody>,
    is_first_party: Option<bool>,
    oidc_conformant: Option<bool>,
    is_token_endpoint_ip_header_trusted: Option<bool>,
    client_metadata: Option<BTreeMap<String, String>>,
}

/// Each of `urls`, parsed by `parse`; a bad one is named with its index.
fn parsed(
    field: &str,
    urls: Vec<String>,
    parse: fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, MgmtError> {
    let mut out: Vec<String> = Vec::with_capacity(urls.len());
    for (i, url) in urls.iter().enumerate() {
        let url = parse(url).map_err(|why| {
            MgmtError::bad_body(format!(
                "Payload validation error: '{field}[{i}]' {url:?}: {why}."
            ))
        })?;
        if !out.contains(&url) {
            out.push(url);
        }
    }
    Ok(out)
}

/// Writes the body's members over `client`, then checks the result as a whole.
fn apply(client: &mut Client, body: ClientBody) -> Result<(), MgmtError> {
    let settings = &mut client.settings;
    if let Some(name) = body.name {
        client.name = name.trim().to_owned();
    }
    if let Some(description) = body.description {
        settings.description = Some(description);
    }
    if let Some(logo) = body.logo_uri {
        let logo = app_url(&logo)
            .ok()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| {
                MgmtError::bad_body("Payload validation error: 'logo_uri' must be an http(s) URL.")
            })?;
        settings.logo_uri = Some(logo);
    }
    if let Some(app_type) = body.app_type {
        client.app_type = app_type;
    }
    if let Some(urls) = body.callbacks {
        settings.callbacks = parsed("callbacks", urls, app_url)?;
    }
    if let Some(urls) = body.allowed_logout_urls {
        settings.allowed_logout_urls = parsed("allowed_logout_urls", urls, app_url)?;
    }
    if let Some(origins) = body.web_origins {
        settings.web_origins = parsed("web_origins", origins, web_origin)?;
    }
    if let Some(origins) = body.allowed_origins {
        settings.allowed_origins = parsed("allowed_origins", origins, web_origin)?;
    }
    if let Some(mut grants) = body.grant_types {
        let mut seen = Vec::with_capacity(grants.len());
        grants.retain(|g| {
            let new = !seen.contains(g);
            seen.push(*g);
            new
        });
        settings.grant_types = grants;
    }
    if let Some(method) = body.token_endpoint_auth_method {
        if method == TokenEndpointAuthMethod::PrivateKeyJwt {
            return Err(MgmtError::bad_body(
                "Payload validation error: private_key_jwt clients are registered with their public keys (sigil clients create --auth-method private_key_jwt), not through token_endpoint_auth_method.",
            ));
        }
        settings.token_endpoint_auth_method = method;
    }
    if let Some(jwt) = body.jwt_configuration {
        let config = &mut settings.jwt_configuration;
        config.alg = jwt.alg.unwrap_or(config.alg);
        config.lifetime_in_seconds = jwt
            .lifetime_in_seconds
            .unwrap_or(config.lifetime_in_seconds);
    }
    if let Some(r) = body.refresh_token {
        let policy = &mut settings.refresh_token;
        policy.rotation_type = r.rotation_type.unwrap_or(policy.rotation_type);
        policy.expiration_type = r.expiration_type.unwrap_or(policy.expiration_type);
        policy.leeway = r.leeway.unwrap_or(policy.leeway);
        policy.token_lifetime = r.token_lifetime.unwrap_or(policy.token_lifetime);
        policy.infinite_token_lifetime = r
            .infinite_token_lifetime
            .unwrap_or(policy.infinite_token_lifetime);
        policy.idle_token_lifetime = r.idle_token_lifetime.unwrap_or(policy.idle_token_lifetime);
        policy.infinite_idle_token_lifetime = r
            .infinite_idle_token_lifetime
            .unwrap_or(policy.infinite_idle_token_lifetime);
    }
    if let Some(first_party) = body.is_first_party {
        client.is_first_party = first_party;
    }
    if let Some(conformant) = body.oidc_conformant {
        settings.oidc_conformant = conformant;
    }
    if let Some(trusted) = body.is_token_endpoint_ip_header_trusted {
        settings.is_token_endpoint_ip_header_trusted = trusted;
    }
    if let Some(metadata) = body.client_metadata {
        settings.client_metadata = metadata;
    }
    client
        .check()
        .map_err(|e| MgmtError::bad_body(format!("Payload validation error: {e}.")))
}

/// Creates a client; a confidential one gets a secret, shown only in this answer.
pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(body): Body<ClientBody>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    caller.require(&["create:clients"])?;
    let Some(name) = body.name.clone() else {
        return Err(MgmtError::bad_body(
            "Payload validation error: Missing required property: name.",
        ));
    };
    let app_type = body.app_type.unwrap_or(AppType::RegularWeb);
    let now = app.now();
    let mut client = Client::new(ClientId::generate(app.rng()), name, app_type, None, now);
    apply(&mut client, body)?;
    ensure_id_token_keys(&app, &client).await?;
    let secret = client.settle_secret(app.rng());
    app.store().create_client(&client).await?;
    app.forget_client(&client.client_id);
    caller.audit(&app, "Create a client").await;
    Ok((
        StatusCode::CREATED,
        Json(client.management_json(secret.as_ref())),
    ))
}

/// Changes a client. A change that leaves it needing a secret Sigil cannot produce (a public
/// client made confidential, a switch to HS256 ID tokens) gives it a new one, shown only in
/// this answer; the old one stops working.
pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<ClientBody>,
) -> Result<Json<Value>, MgmtError> {
    caller.require(&["update:clients", "update:client_keys"])?;
    let mut client = client_or_404(&app, &id).await?;
    if !is_empty(&body) {
        // Every member this API accepts is a setting: `update:client_keys` alone changes none.
        caller.require(&["update:clients"])?;
    }
    apply(&mut client, body)?;
    ensure_id_token_keys(&app, &client).await?;
    let secret = client.settle_secret(app.rng());
    client.updated_at = app.now();
    match app.store().update_client(&client).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing_client()),
        Err(e) => return Err(e.into()),
    }
    app.forget_client(&client.client_id);
    caller.audit(&app, "Update a client").await;
    Ok(Json(client.management_json(secret.as_ref())))
}

/// The key family that signs the client's ID tokens (PS256's is made when the first client or
/// API chooses it); none for HS256, which signs with the client's secret.
async fn ensure_id_token_keys<S: Store>(app: &App<S>, client: &Client) -> Result<(), MgmtError> {
    match KeyFamily::signing(client.settings.jwt_configuration.alg) {
        Some(KeyFamily::Rs256) | None => Ok(()),
        Some(family) => super::keys::ensure_family(app, family).await,
    }
}

fn is_empty(body: &ClientBody) -> bool {
    let ClientBody {
        name,
        description,
        logo_uri,
        app_type,
        callbacks,
        allowed_logout_urls,
        web_origins,
        allowed_origins,
        grant_types,
        token_endpoint_auth_method,
        jwt_configuration,
        refresh_token,
        is_first_party,
        oidc_conformant,
        is_token_endpoint_ip_header_trusted,
        client_metadata,
    } = body;
    name.is_none()
        && description.is_none()
        && logo_uri.is_none()
        && app_type.is_none()
        && callbacks.is_none()
        && allowed_logout_urls.is_none()
        && web_origins.is_none()
        && allowed_origins.is_none()
        && grant_types.is_none()
        && token_endpoint_auth_method.is_none()
        && jwt_configuration.is_none()
        && refresh_token.is_none()
        && is_first_party.is_none()
        && oidc_conformant.is_none()
        && is_token_endpoint_ip_header_trusted.is_none()
        && client_metadata.is_none()
}

/// Deletes a client with its grants, codes and tokens (the store's cascade).
pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    caller.require(&["delete:clients"])?;
    let id = ClientId(id);
    match app.store().delete_client(&id).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing_client()),
        Err(e) => return Err(e.into()),
    }
    app.forget_client(&id);
    caller.audit(&app, "Delete a client").await;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret; the old one stops working at once on this node.
pub(crate) async fn rotate_secret<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    caller.require(&["update:client_keys"])?;
    let mut client = client_or_404(&app, &id).await?;
    if !client.needs_secret() {
        let why = if client.app_type.is_public() {
            format!(
                "a {} application is a public client and has no secret",
                client.app_type.as_str()
            )
        } else {
            "this client authenticates with private_key_jwt and has no secret".to_owned()
        };
        return Err(MgmtError::bad_body(format!(
            "Payload validation error: {why}."
        )));
    }
    let secret = ClientSecret::generate(app.rng());
    client.set_secret(&secret);
    client.updated_at = app.now();
    match app.store().update_client(&client).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing_client()),
        Err(e) => return Err(e.into()),
    }
    app.forget_client(&client.client_id);
    caller.audit(&app, "Rotate a client secret").await;
    Ok(Json(client.management_json(Some(&secret))))
}
