//! Logout: Auth0's `GET /v2/logout` (`returnTo`, `client_id`) and OpenID Connect RP-initiated
//! logout `GET /oidc/logout` (`id_token_hint`, `post_logout_redirect_uri`, `state`). Both end
//! the browser's SSO session and clear its cookie; a redirect goes only to a URL the client
//! (or, for `/v2/logout` without a client, the tenant) lists in `allowed_logout_urls`, matched
//! exactly. Anything else is a page, never a redirect. `/v2/logout?federated` then sends the
//! browser on to end its session at the identity provider a federated user came from.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::federation::Settings;
use sigil_core::ids::{ClientId, UserId};
use sigil_core::model::{LogType, NewLogEvent};
use sigil_core::secret::Token;

use crate::App;
use crate::pages::PageQuery;
use crate::routes::authorize::{SESSION_COOKIE, cookie};

#[derive(Deserialize)]
pub(crate) struct V2Params {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
    client_id: Option<String>,
    /// Present (with any value): also end the session at the user's identity provider.
    federated: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct OidcParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    #[allow(dead_code)] // Accepted as OIDC RP-Initiated Logout allows; not needed to log out.
    logout_hint: Option<String>,
    #[allow(dead_code)]
    ui_locales: Option<String>,
}

/// Ends the request's session, if any, and logs it; answers whose it was. A session that
/// could not be ended is the error page, never "logged out".
async fn end_session<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    client: Option<&ClientId>,
) -> Result<Option<UserId>, Response> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let store = app.store();
    let ended = async {
        let Some(session) = store.session_by_cookie(&Token::new(value).digest()).await? else {
            return Ok(None);
        };
        store.delete_session(&session.id).await?;
        store
            .append_log(&NewLogEvent {
                client_id: client.cloned(),
                user_id: Some(session.user_id.clone()),
                ..NewLogEvent::new(LogType::SUCCESS_LOGOUT, app.now())
            })
            .await?;
        Ok::<_, sigil_core::StoreError>(Some(session.user_id))
    };
    ended
        .await
        .map_err(|e| app.pages().failed(&e, "cannot end a session"))
}

/// The answer: a redirect to `target` or the logged-out page, clearing the session cookie.
fn logged_out<S: Store>(app: &App<S>, target: Option<String>) -> Response {
    let mut response = match target {
        Some(url) => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(value) = HeaderValue::from_str(&url) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        None => app.pages().render(
            StatusCode::OK,
            "logged_out.html",
            minijinja::context! {},
            crate::pages::Script::None,
        ),
    };
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn refuse<S: Store>(app: &App<S>, message: &str) -> Response {
    app.pages().error(StatusCode::BAD_REQUEST, message)
}

/// Whether `client` allows `url` as a logout target (a store failure, logged, allows nothing).
async fn client_allows<S: Store>(app: &App<S>, client: &ClientId, url: &str) -> bool {
    match app.store().client(client).await {
        Ok(client) => {
            client.is_some_and(|c| c.settings.allowed_logout_urls.iter().any(|u| u == url))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read a client's logout URLs");
            false
        }
    }
}

pub(crate) async fn v2_logout<S: Store>(
    State(app): State<App<S>>,
    PageQuery(params): PageQuery<V2Params>,
    headers: HeaderMap,
) -> Response {
    let client = params.client_id.filter(|c| !c.is_empty()).map(ClientId);
    let target = match params.return_to.filter(|r| !r.is_empty()) {
        None => None,
        Some(url) => {
            let allowed = match &client {
                Some(client) => client_allows(&app, client, &url).await,
                None => matches!(
                    app.store().tenant_settings().await,
                    Ok(Some(t)) if t.allowed_logout_urls.contains(&url)
                ),
            };
            if !allowed {
                return refuse(
                    &app,
                    &format!("The returnTo URL {url} is not one of the allowed logout URLs."),
                );
            }
            Some(url)
        }
    };
    let user = match end_session(&app, &headers, client.as_ref()).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    // `federated`: on to the identity provider the user came from, when it publishes where
    // a session there ends; it sends the browser to `returnTo` afterwards if it accepts it.
    if params.federated.is_some()
        && let Some(user) = user
        && let Some(upstream) = upstream_logout(&app, &user, target.as_deref()).await
    {
        return logged_out(&app, Some(upstream));
    }
    logged_out(&app, target)
}

/// The URL that ends `user`'s session at the identity provider of their connection, if it is
/// another one and publishes an `end_session_endpoint`.
async fn upstream_logout<S: Store>(
    app: &App<S>,
    user: &UserId,
    return_to: Option<&str>,
) -> Option<String> {
    let store = app.store();
    let account = match store.account(user).await {
        Ok(account) => account?,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the user for a federated logout");
            return None;
        }
    };
    let connection = match store.connection(&account.connection_id).await {
        Ok(connection) => connection?,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the connection for a federated logout");
            return None;
        }
    };
    let settings = Settings::of(
        connection.strategy,
        connection.upstream.as_ref()?,
        &app.upstreams().policy(),
    )
    .ok()?;
    settings.logout_url(return_to)
}

#[derive(Deserialize)]
struct HintClaims {
    aud: serde_json::Value,
}

pub(crate) async fn oidc_logout<S: Store>(
    State(app): State<App<S>>,
    PageQuery(params): PageQuery<OidcParams>,
    headers: HeaderMap,
) -> Response {
    let mut client = params.client_id.filter(|c| !c.is_empty()).map(ClientId);
    if let Some(hint) = params.id_token_hint.filter(|h| !h.is_empty()) {
        let Ok(keys) = app.keys().await else {
            return refuse(&app, "The server failed; try again later.");
        };
        let audience = match keys
            .id_token_hint_verifier()
            .verify::<HintClaims>(&hint, app.now())
        {
            Ok(verified) => match verified.claims.aud {
                serde_json::Value::String(aud) => aud,
                _ => {
                    return refuse(
                        &app,
                        "The id_token_hint is not an ID token of one application.",
                    );
                }
            },
            Err(e) => return refuse(&app, &format!("The id_token_hint is not valid: {e}.")),
        };
        if client.as_ref().is_some_and(|c| c.as_str() != audience) {
            return refuse(
                &app,
                "The id_token_hint was issued to another client than client_id.",
            );
        }
        client = Some(ClientId(audience));
    }
    let target = match params.post_logout_redirect_uri.filter(|u| !u.is_empty()) {
        None => None,
        Some(url) => {
            let Some(client) = &client else {
                return refuse(
                    &app,
                    "post_logout_redirect_uri needs an id_token_hint or a client_id.",
                );
            };
            if !client_allows(&app, client, &url).await {
                return refuse(
                    &app,
                    &format!(
                        "The post_logout_redirect_uri {url} is not one of the application's allowed logout URLs."
                    ),
                );
            }
            Some(match params.state {
                Some(state) => {
                    let separator = if url.contains('?') { '&' } else { '?' };
                    format!(
                        "{url}{separator}{}",
                        serde_urlencoded::to_string([("state", state)]).unwrap_or_default()
                    )
                }
                None => url,
            })
        }
    };
    if let Err(page) = end_session(&app, &headers, client.as_ref()).await {
        return page;
    }
    logged_out(&app, target)
}
