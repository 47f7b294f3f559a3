//! Logins through another identity provider. `/authorize?connection=<federated>` (and the
//! login page's "Continue with …" buttons, `/u/login/federated`) send the browser upstream
//! with a fresh `state`, `nonce` and PKCE verifier, kept server-side and bound to this browser
//! by a cookie; the one callback, `GET|POST /login/callback`, takes them back once, has the
//! upstream's answer checked by core (`sigil_core::federation`), makes or refreshes the user
//! (`federation::account::save`), and completes the login through the same pipeline as a
//! password (`login::complete`, then `respond`).
//!
//! An upstream's refusal reaches the application as Auth0 passes it on, at its redirect URI
//! with its own `state`; upstream error texts are logged, never shown.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use sigil_core::authorize::{Authorization, LoginTransaction};
use sigil_core::events;
use sigil_core::federation::account::{self, UpstreamTokens};
use sigil_core::federation::settings::Protocol;
use sigil_core::federation::{
    AuthorizationRequest, Channel, IdTokenError, Profile, Settings, check_id_token,
};
use sigil_core::login::{self, Completed, Login, Proof};
use sigil_core::model::{Connection, FederationTransaction};
use sigil_core::secret::{SecretDigest, Token};
use sigil_core::{Store, UnixTime, ids};
use url::Url;

use super::authorize::{
    EXPIRED, Via, cookie, error_response, login_context, page_error, respond, set_cookie,
    set_session_cookie, to_page,
};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{PageQuery, Script};
use crate::upstream::UpstreamError;

/// Seconds a login may spend upstream.
const UPSTREAM_WINDOW: i64 = 600;
/// The binding cookie's name: this prefix and the start of the state's digest, so that two
/// logins in two tabs each keep their own.
const BINDING_COOKIE: &str = "sigil_fed_";
/// The field the re-POST page adds (see [`callback`]).
const REPOSTED: &str = "sigil_reposted";

/// The page shown when a callback cannot be matched to a login of this browser.
const NOT_THIS_BROWSER: &str = "This login could not be finished: it expired, was already \
    used, or did not start in this browser. Go back to the application and start again.";
/// What the application is told when the upstream's answer cannot be used (the reason is
/// logged).
const UPSTREAM_FAILED: &str = "the identity provider's answer could not be used";

fn binding_cookie_name(state_digest: &SecretDigest) -> String {
    let start = base64_simd::URL_SAFE_NO_PAD.encode_to_string(&state_digest.0[..9]);
    format!("{BINDING_COOKIE}{start}")
}

/// Sends the browser of the login `authz` to `connection`'s upstream.
pub(crate) async fn go_upstream<S: Store>(
    app: &App<S>,
    authz: Authorization,
    connection: &Connection,
) -> Response {
    let policy = app.upstreams().policy();
    let settings = match connection
        .upstream
        .as_ref()
        .ok_or_else(|| "it has no upstream settings".to_owned())
        .and_then(|u| Settings::of(connection.strategy, u, &policy).map_err(|e| e.to_string()))
    {
        Ok(settings) => settings,
        Err(why) => {
            tracing::error!(connection = %connection.name, %why, "a connection's settings cannot be used");
            return error_response(
                app,
                authz.error("server_error", "the connection is not configured correctly"),
            );
        }
    };
    let endpoint = match Url::parse(&settings.metadata.authorization_endpoint) {
        Ok(url) => url,
        Err(e) => {
            tracing::error!(connection = %connection.name, error = %e, "a connection's authorization endpoint is not a URL");
            return error_response(
                app,
                authz.error("server_error", "the connection is not configured correctly"),
            );
        }
    };
    let rng = app.rng();
    // A nonce for an OpenID provider, whose ID token must carry it; none for OAuth 2.0 ones.
    let mut request = AuthorizationRequest::new(
        rng,
        settings.client_id.clone(),
        callback_url(app),
        settings.scope.iter().cloned(),
        settings.protocol == Protocol::OpenId,
        settings.pkce,
    );
    if settings.channel == Channel::Front {
        request = request.into_front_channel(rng);
    }
    request.form_post = settings.form_post;
    request.extra = settings.upstream_parameters(|alias| match alias {
        "login_hint" => authz.login_hint.clone(),
        "max_age" => authz.max_age.map(|m| m.to_string()),
        "client_id" => Some(authz.client_id.to_string()),
        "audience" => authz.audience.clone(),
        // prompt=none never goes upstream; login and consent are passed on.
        "prompt" => {
            if authz.force_login {
                Some("login".to_owned())
            } else if authz.force_consent {
                Some("consent".to_owned())
            } else {
                None
            }
        }
        _ => None,
    });
    let now = app.now();
    let binding = Token::generate(rng);
    let state_digest = SecretDigest::of(&request.state);
    let cookie_name = binding_cookie_name(&state_digest);
    let tx = LoginTransaction::new(authz, rng, UnixTime(now.0 + UPSTREAM_WINDOW));
    let transaction = FederationTransaction {
        state_digest,
        binding_digest: binding.digest(),
        connection_id: connection.id.clone(),
        login: tx.seal(app.transaction_key()),
        nonce: request.nonce.clone(),
        code_verifier: request.code_verifier.clone(),
        expires_at: UnixTime(now.0 + UPSTREAM_WINDOW),
    };
    if let Err(e) = app
        .store()
        .create_federation_transaction(&transaction)
        .await
    {
        tracing::error!(error = %e, "cannot keep a login gone upstream");
        return error_response(
            app,
            tx.authorization
                .error("server_error", "the server failed; try again"),
        );
    }
    let mut response = to_page(app, &request.url(&endpoint), Via::Navigation);
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    // Lax: the upstream's redirect back is a top-level navigation, which carries it.
    set_cookie(
        &mut response,
        format!(
            "{cookie_name}={}; Path=/login/callback; HttpOnly; SameSite=Lax; \
             Max-Age={UPSTREAM_WINDOW}{secure}",
            binding.expose()
        ),
    );
    response
}

/// Sigil's one callback for every upstream.
pub(crate) fn callback_url<S: Store>(app: &App<S>) -> String {
    format!("{}login/callback", app.issuer())
}

#[derive(Deserialize)]
pub(crate) struct ButtonQuery {
    tx: Option<String>,
    connection: Option<String>,
}

/// `GET /u/login/federated?tx=…&connection=…`: a login page's "Continue with …" button.
pub(crate) async fn button<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<ButtonQuery>,
) -> Response {
    let Some(tx) = query
        .tx
        .as_deref()
        .and_then(|t| LoginTransaction::open(t, app.transaction_key(), app.now()))
    else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let name = query.connection.unwrap_or_default();
    let connection =
        match sigil_core::connections::usable_by(app.store(), &tx.authorization.client_id, &name)
            .await
        {
            Ok(Ok(connection)) if connection.strategy.is_federated() => connection,
            Ok(Ok(_)) | Ok(Err(_)) => {
                return page_error(
                    &app,
                    StatusCode::BAD_REQUEST,
                    "This way to log in is not enabled for this application.",
                );
            }
            Err(e) => return app.pages().failed(&e, "cannot read the connection"),
        };
    go_upstream(&app, tx.authorization, &connection).await
}

/// What an upstream sends back, in the query or a POSTed form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
    /// Sign in with Apple's user (a name) on a first authorization.
    user: Option<String>,
    #[serde(rename = "sigil_reposted")]
    reposted: Option<String>,
}

impl CallbackParams {
    /// The fields as the re-POST page sends them again.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        for (name, value) in [
            ("state", &self.state),
            ("code", &self.code),
            ("id_token", &self.id_token),
            ("error", &self.error),
            ("error_description", &self.error_description),
            ("iss", &self.iss),
            ("user", &self.user),
        ] {
            if let Some(value) = value {
                fields.push((name, value.clone()));
            }
        }
        fields.push((REPOSTED, "1".to_owned()));
        fields
    }
}

/// `GET|POST /login/callback`.
///
/// A POSTed callback (an OpenID provider's `form_post`) comes from another site, so the Lax
/// binding cookie is not sent with it; the browser is answered once with a page that POSTs
/// the same fields again from Sigil's own origin, where the cookie goes along.
pub(crate) async fn callback<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = if method == Method::POST {
        serde_urlencoded::from_bytes::<CallbackParams>(&body)
    } else {
        serde_urlencoded::from_str::<CallbackParams>(uri.query().unwrap_or_default())
    };
    let Ok(params) = parsed else {
        return page_error(&app, StatusCode::BAD_REQUEST, NOT_THIS_BROWSER);
    };
    let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) else {
        return page_error(&app, StatusCode::BAD_REQUEST, NOT_THIS_BROWSER);
    };
    let state_digest = SecretDigest::of(state);
    let cookie_name = binding_cookie_name(&state_digest);
    let Some(binding) = cookie(&headers, &cookie_name) else {
        if method == Method::POST && params.reposted.is_none() {
            let nonce = ids::alphanumeric(app.rng(), 22);
            return app.pages().render(
                StatusCode::OK,
                "form_post.html",
                minijinja::context! {
                    redirect_uri => callback_url(&app),
                    fields => params.fields(),
                    nonce => nonce.clone(),
                },
                Script::Nonce(&nonce),
            );
        }
        return page_error(&app, StatusCode::BAD_REQUEST, NOT_THIS_BROWSER);
    };
    let now = app.now();
    let taken = app
        .store()
        .take_federation_transaction(&state_digest, &SecretDigest::of(&binding), now)
        .await;
    let transaction = match taken {
        Ok(Some(transaction)) => transaction,
        Ok(None) => return page_error(&app, StatusCode::BAD_REQUEST, NOT_THIS_BROWSER),
        Err(e) => {
            return app
                .pages()
                .failed(&e, "cannot read the login gone upstream");
        }
    };
    let mut response = finish(&app, ip, &headers, transaction, &params, now).await;
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!("{cookie_name}=; Path=/login/callback; HttpOnly; Max-Age=0{secure}"),
    );
    response
}

/// Why an upstream's answer is not used: what the application is told, and what is logged.
struct Refused {
    error: &'static str,
    log: String,
}

impl Refused {
    fn failed(log: impl Into<String>) -> Self {
        Refused {
            error: "access_denied",
            log: log.into(),
        }
    }
}

impl From<UpstreamError> for Refused {
    fn from(e: UpstreamError) -> Self {
        let error = match e {
            UpstreamError::Busy | UpstreamError::Unreachable(..) => "temporarily_unavailable",
            _ => "access_denied",
        };
        Refused {
            error,
            log: e.to_string(),
        }
    }
}

/// The login of `transaction`, given the upstream's answer.
async fn finish<S: Store>(
    app: &App<S>,
    ip: IpAddr,
    headers: &HeaderMap,
    transaction: FederationTransaction,
    params: &CallbackParams,
    now: UnixTime,
) -> Response {
    let Some(tx) = LoginTransaction::open(&transaction.login, app.transaction_key(), now) else {
        return page_error(app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let authz = &tx.authorization;
    let connection = match app.store().connection(&transaction.connection_id).await {
        Ok(Some(connection)) => connection,
        Ok(None) => {
            return error_response(
                app,
                authz.error("access_denied", "the connection was deleted"),
            );
        }
        Err(e) => return app.pages().failed(&e, "cannot read the connection"),
    };
    if let Some(error) = &params.error {
        // The upstream's own words are logged, bounded; the application gets Auth0's codes.
        let description: String = params
            .error_description
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(200)
            .filter(|c| !c.is_control())
            .collect();
        tracing::info!(connection = %connection.name, upstream_error = %error.chars().take(64).collect::<String>(), %description, "the identity provider refused the login");
        let (code, text) = match error.as_str() {
            "access_denied" => (
                "access_denied",
                "the user did not allow the login at the identity provider",
            ),
            "temporarily_unavailable" => (
                "temporarily_unavailable",
                "the identity provider is unavailable; try again",
            ),
            _ => ("access_denied", "the identity provider refused the login"),
        };
        return error_response(app, authz.error(code, text));
    }
    let account = match upstream_account(app, &connection, &transaction, params, now).await {
        Ok(account) => account,
        Err(refused) => {
            tracing::warn!(connection = %connection.name, why = %refused.log, "an identity provider's answer was refused");
            let text = if refused.error == "temporarily_unavailable" {
                "the identity provider cannot be reached; try again"
            } else {
                UPSTREAM_FAILED
            };
            app.log_event(events::federated_refused(
                &authz.client_id,
                &connection,
                text,
                now,
                &app.origin(ip, headers),
            ));
            return error_response(app, authz.error(refused.error, text));
        }
    };
    let origin = app.origin(ip, headers);
    let user = account.user;
    if account.created {
        app.log_event(events::federated_signup(
            &authz.client_id,
            &user,
            &connection,
            now,
            &origin,
        ));
    }
    if user.blocked {
        app.log_event(events::federated_refused(
            &authz.client_id,
            &connection,
            "user is blocked",
            now,
            &origin,
        ));
        return error_response(app, authz.error("unauthorized", "user is blocked"));
    }
    let login = Login {
        proof: Proof::Federated(&user),
        context: events::LoginContext {
            connection: Some(connection.name.as_str()),
            ..login_context(authz)
        },
        origin: &origin,
    };
    let (session, cookie_value) = match login::complete(app.store(), app.rng(), now, login).await {
        Ok(Completed {
            session: Some(session),
            cookie: Some(cookie),
            ..
        }) => (session, cookie),
        Ok(_) => {
            tracing::error!("a federated login completed without a session");
            return error_response(
                app,
                authz.error("server_error", "the server failed; try again"),
            );
        }
        Err(e) => return app.pages().failed(&e, "cannot start a session"),
    };
    let mut response = respond(app, authz, &session, &origin, Via::Navigation).await;
    set_session_cookie(app, &mut response, &cookie_value, &session, now);
    response
}

/// The account the upstream's answer vouches for: the code exchanged (or the ID token of a
/// front-channel answer), the ID token checked, UserInfo read when the connection asks, the
/// user made or refreshed.
async fn upstream_account<S: Store>(
    app: &App<S>,
    connection: &Connection,
    transaction: &FederationTransaction,
    params: &CallbackParams,
    now: UnixTime,
) -> Result<account::FederatedAccount, Refused> {
    let policy = app.upstreams().policy();
    let upstream = connection
        .upstream
        .as_ref()
        .ok_or_else(|| Refused::failed("the connection has no upstream settings"))?;
    let settings = Settings::of(connection.strategy, upstream, &policy)
        .map_err(|e| Refused::failed(format!("the connection's settings: {e}")))?;
    // RFC 9207: an upstream that says it names itself in its answers must, and correctly.
    if (settings
        .metadata
        .authorization_response_iss_parameter_supported
        || params.iss.is_some())
        && params.iss.as_deref() != Some(settings.metadata.issuer.as_str())
    {
        return Err(Refused::failed(format!(
            "the answer's iss is {:?}, not the connection's issuer",
            params.iss
        )));
    }
    match &settings.protocol {
        Protocol::OpenId => {
            let (profile, tokens) =
                openid_profile(app, &settings, transaction, params, now).await?;
            save(app, connection, &settings, profile, tokens, now).await
        }
        Protocol::GitHub { api, emails } => {
            let (profile, tokens) =
                github_profile(app, &settings, transaction, params, api, *emails).await?;
            save(app, connection, &settings, profile, tokens, now).await
        }
        Protocol::Facebook { graph } => {
            let set = exchange(app, &settings, transaction, params).await?;
            let token = set
                .access_token
                .clone()
                .ok_or_else(|| Refused::failed("the token endpoint gave no access token"))?;
            let me = app
                .upstreams()
                .userinfo(&settings.facebook_me(graph, &token), &token)
                .await?;
            let profile =
                Profile::from_facebook(&me).map_err(|e| Refused::failed(e.to_string()))?;
            let tokens = set.tokens();
            save(app, connection, &settings, profile, tokens, now).await
        }
        Protocol::Script { code } => {
            let (profile, tokens) =
                script_profile(app, &settings, transaction, params, code, now).await?;
            save(app, connection, &settings, profile, tokens, now).await
        }
    }
}

/// A custom `oauth2` connection's user: the code exchanged, then the tenant's profile
/// script, `fetchUserProfile(accessToken, ctx, callback)`, run by the Actions engine under its
/// limits and the tenant's egress rules; `ctx` is the token endpoint's answer without the
/// tokens. The script's error is logged (it is the tenant's), never shown.
async fn script_profile<S: Store>(
    app: &App<S>,
    settings: &Settings,
    transaction: &FederationTransaction,
    params: &CallbackParams,
    code: &str,
    now: UnixTime,
) -> Result<(Profile, UpstreamTokens), Refused> {
    let set = exchange(app, settings, transaction, params).await?;
    let token = set
        .access_token
        .clone()
        .ok_or_else(|| Refused::failed("the token endpoint gave no access token"))?;
    let egress = app.tenant_egress().await.map_err(|e| Refused {
        error: "server_error",
        log: e.to_string(),
    })?;
    let mut ctx = serde_json::Map::new();
    if let Some(expires_in) = set.expires_in {
        ctx.insert("expires_in".to_owned(), Value::from(expires_in));
    }
    if let Some(id_token) = &set.id_token {
        ctx.insert("id_token".to_owned(), Value::from(id_token.clone()));
    }
    let execution = sigil_actions::Execution {
        trigger: sigil_actions::Trigger::PostLogin,
        actions: vec![sigil_actions::Action {
            name: "fetchUserProfile".to_owned(),
            code: code.to_owned(),
            secrets: serde_json::Map::new(),
            kind: sigil_actions::Kind::ProfileScript,
        }],
        event: serde_json::json!({ "access_token": token, "ctx": ctx }),
        now_ms: now.0.saturating_mul(1000),
        resume: false,
        egress,
    };
    let outcome = app.actions().run(execution).await.map_err(|e| Refused {
        error: "temporarily_unavailable",
        log: format!("the profile script could not run: {e}"),
    })?;
    if let Some(failed) = outcome.failure() {
        return Err(Refused::failed(format!(
            "the profile script failed: {}",
            failed
                .error
                .as_ref()
                .map_or_else(String::new, ToString::to_string)
        )));
    }
    let profile = outcome
        .commands()
        .find(|c| c.op == "profile")
        .and_then(|c| c.args.first())
        .and_then(Value::as_object)
        .ok_or_else(|| Refused::failed("the profile script gave no profile"))?;
    let profile = Profile::from_script(profile)
        .map_err(|e| Refused::failed(format!("the profile script's profile: {e}")))?;
    let tokens = set.tokens();
    Ok((profile, tokens))
}

/// Makes or refreshes the user (core's `federation::account::save`).
async fn save<S: Store>(
    app: &App<S>,
    connection: &Connection,
    settings: &Settings,
    profile: Profile,
    tokens: UpstreamTokens,
    now: UnixTime,
) -> Result<account::FederatedAccount, Refused> {
    account::save(app.store(), connection, settings, profile, tokens, now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot save a federated user");
            Refused {
                error: "server_error",
                log: e.to_string(),
            }
        })
}

/// The code exchanged at the upstream's token endpoint, with the connection's secret (Sign in
/// with Apple's made for this exchange from the team's key).
async fn exchange<S: Store>(
    app: &App<S>,
    settings: &Settings,
    transaction: &FederationTransaction,
    params: &CallbackParams,
) -> Result<crate::upstream::TokenSet, Refused> {
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Refused::failed("the answer has no code"))?;
    let secret = match &settings.apple {
        Some(apple) => apple
            .client_secret(&settings.client_id, &settings.metadata.issuer, app.now().0)
            .map_err(Refused::failed)?,
        None => settings.client_secret.clone().unwrap_or_default(),
    };
    Ok(app
        .upstreams()
        .exchange(
            settings,
            &secret,
            code,
            transaction.code_verifier.as_deref(),
            &callback_url(app),
        )
        .await?)
}

/// A GitHub user: the code exchanged, then `/user` and, when asked, `/user/emails` (a
/// failure to read the addresses leaves the user without one rather than failing the login).
async fn github_profile<S: Store>(
    app: &App<S>,
    settings: &Settings,
    transaction: &FederationTransaction,
    params: &CallbackParams,
    api: &str,
    emails: bool,
) -> Result<(Profile, UpstreamTokens), Refused> {
    let set = exchange(app, settings, transaction, params).await?;
    let token = set
        .access_token
        .clone()
        .ok_or_else(|| Refused::failed("the token endpoint gave no access token"))?;
    let user = app
        .upstreams()
        .userinfo(&format!("{api}/user"), &token)
        .await?;
    let list = if emails {
        match app
            .upstreams()
            .api(&format!("{api}/user/emails"), &token)
            .await
        {
            Ok(Value::Array(list)) => Some(list),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the GitHub user's emails");
                None
            }
        }
    } else {
        None
    };
    let profile =
        Profile::from_github(&user, list.as_deref()).map_err(|e| Refused::failed(e.to_string()))?;
    let tokens = set.tokens();
    Ok((profile, tokens))
}

/// An OpenID provider's user: its ID token (from the code's exchange, or POSTed by a
/// front-channel answer) checked, and UserInfo when the connection asks.
async fn openid_profile<S: Store>(
    app: &App<S>,
    settings: &Settings,
    transaction: &FederationTransaction,
    params: &CallbackParams,
    now: UnixTime,
) -> Result<(Profile, UpstreamTokens), Refused> {
    let (id_token, tokens) = match settings.channel {
        Channel::Back => {
            let set = exchange(app, settings, transaction, params).await?;
            let tokens = set.tokens();
            let id_token = set
                .id_token
                .ok_or_else(|| Refused::failed("the token endpoint gave no ID token"))?;
            (id_token, tokens)
        }
        Channel::Front => {
            let id_token = params
                .id_token
                .clone()
                .ok_or_else(|| Refused::failed("the answer has no ID token"))?;
            (id_token, UpstreamTokens::default())
        }
    };
    let jwks_uri = settings
        .metadata
        .jwks_uri
        .as_deref()
        .ok_or_else(|| Refused::failed("the provider publishes no keys"))?;
    let policy_of_token = settings.id_token_policy();
    let check = |keys| {
        check_id_token(
            &id_token,
            keys,
            &policy_of_token,
            transaction.nonce.as_deref(),
            tokens.access_token.as_deref(),
            now.0,
        )
    };
    let claims = match check(app.upstreams().keys(jwks_uri, false).await?) {
        // A key the cached set lacks: the upstream may have rotated; read its keys again
        // (at most every 30 s), never falling back to another key.
        Err(IdTokenError::Jose(sigil_jose::VerifyError::UnknownKid(_))) => {
            check(app.upstreams().keys(jwks_uri, true).await?)
        }
        other => other,
    }
    .map_err(|e| Refused::failed(format!("the ID token: {e}")))?;
    let userinfo: Option<Map<String, Value>> = match (
        settings.userinfo,
        settings.metadata.userinfo_endpoint.as_deref(),
        tokens.access_token.as_deref(),
    ) {
        (true, Some(endpoint), Some(token)) => {
            Some(app.upstreams().userinfo(endpoint, token).await?)
        }
        _ => None,
    };
    let mut profile = settings
        .openid_profile(&claims, userinfo.as_ref())
        .map_err(|e| Refused::failed(e.to_string()))?;
    if settings.apple.is_some() {
        profile = profile.with_apple_user(params.user.as_deref());
    }
    Ok((profile, tokens))
}
